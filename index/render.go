package index

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Rendering an index with thousands of versions is mostly re-marshalling
// versions that did not change. A server therefore renders each version once
// (EntryYAML, EntryJSON, or NewEntry for both), stores the fragments, and
// assembles index.yaml / index.json by concatenation (RenderYAML,
// RenderJSON). The output is byte-for-byte what marshalling the whole File
// gives (sigs.k8s.io/yaml, and json.MarshalIndent with two spaces, as Helm's
// WriteJSONFile), which the tests prove. That works because:
//
//   - every version sits at the same depth (entries → name → list), so a
//     fragment rendered in a one-entry index of the same shape has exactly
//     the indentation, quoting and line folding it has in any index;
//   - the YAML emitter orders map keys with its own natural sort, which
//     RenderYAML obtains from the emitter itself rather than imitating it
//     (and, where that sort is not a consistent order, from the emitter's
//     answers on pairs of keys, so that the order is the same on every
//     rendering: yamlorder.go).
//
// Stored fragments stay valid as long as the YAML library's output does: a
// dependency upgrade of sigs.k8s.io/yaml (or a process calling
// go.yaml.in/yaml/v2's FutureLineWrap) calls for re-rendering them.

// ErrUnrenderableName: a chart name the YAML emitter writes as a complex
// key ("? name"), which changes the layout of its versions: longer than 128
// bytes, or multi-line. Valid chart metadata cannot be multi-line; a server
// should refuse names over 128 bytes at upload.
var ErrUnrenderableName = errors.New("index: chart name cannot be rendered incrementally")

// ErrUnrenderableKey: an annotation key too long for YAML to carry as the
// JSON-to-YAML conversion writes it (a flow key over 1024 characters,
// escapes included); Helm's own index writer fails on it the same way.
var ErrUnrenderableKey = errors.New("index: annotation key is too long to render as YAML")

// maxRenderedKey is the longest annotation key, JSON-encoded, that
// renders: YAML's limit on a simple key, with room for the quotes.
const maxRenderedKey = 1000

// EntryYAML renders one version as it appears in index.yaml under its chart
// name: "  - apiVersion: ...\n    ...\n".
func EntryYAML(cv *ChartVersion) ([]byte, error) {
	if err := checkRenderable(cv); err != nil {
		return nil, err
	}
	b, err := marshalYAML(map[string]map[string][]*ChartVersion{"entries": {entryProbe: {cv}}})
	if err != nil {
		return nil, fmt.Errorf("index: rendering %s: %w", cv.key(), err)
	}
	frag, ok := bytes.CutPrefix(b, []byte(entryProbeHead))
	if !ok {
		return nil, fmt.Errorf("index: rendering %s: unexpected YAML layout %.40q", cv.key(), b)
	}
	return frag, nil
}

// entryProbe is the chart name entries are rendered under; entryProbeHead
// is what precedes them in that document.
const (
	entryProbe     = "x"
	entryProbeHead = "entries:\n  " + entryProbe + ":\n"
)

// checkRenderable refuses what EntryYAML cannot render.
func checkRenderable(cv *ChartVersion) error {
	if cv == nil {
		return errors.New("index: nil chart version")
	}
	if cv.Metadata != nil {
		for k := range cv.Annotations {
			if k, _ := json.Marshal(k); len(escapeUnreadable(k)) > maxRenderedKey {
				return fmt.Errorf("%w: %d characters", ErrUnrenderableKey, len(k))
			}
		}
	}
	return nil
}

// marshalYAML is sigs.k8s.io/yaml's Marshal (JSON, then JSON to YAML),
// with one difference: characters that JSON writes raw but YAML's reader
// refuses (DEL, the C1 controls, U+FFFE and U+FFFF) are escaped in the
// JSON first. A Chart.yaml may carry them ("\x7f" in a quoted string), and
// without this one such chart would make its whole tenant's index fail to
// render; with it, the emitter writes them escaped, as YAML asks, and the
// index loads back with the same strings. Everything else is byte for byte
// what yaml.Marshal writes.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(escapeUnreadable(j))
}

// escapeUnreadable escapes, as JSON \u escapes, the runes of j that a
// YAML reader does not accept raw. They can only stand inside JSON strings.
func escapeUnreadable(j []byte) []byte {
	unreadable := func(r rune) bool {
		return (r >= 0x7f && r <= 0x9f) || r == 0xfffe || r == 0xffff
	}
	if !bytes.ContainsFunc(j, unreadable) {
		return j
	}
	out := make([]byte, 0, len(j)+16)
	for _, r := range string(j) {
		if unreadable(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// jsonPrefix is the indentation of a version in index.json: entries (1),
// chart name (2), list item (3), each two spaces.
const jsonPrefix = "      "

// EntryJSON renders one version as it appears in index.json, without the
// indentation of its first line.
func EntryJSON(cv *ChartVersion) ([]byte, error) {
	if cv == nil {
		return nil, errors.New("index: nil chart version")
	}
	b, err := json.MarshalIndent(cv, jsonPrefix, "  ")
	if err != nil {
		return nil, fmt.Errorf("index: rendering %s: %w", cv.key(), err)
	}
	return b, nil
}

func (cv *ChartVersion) key() string {
	if cv.Metadata == nil {
		return "chart version"
	}
	return cv.Name + "-" + cv.Version
}

// Entry is one chart version, pre-rendered.
type Entry struct {
	// Name is the chart name the version is listed under.
	Name string
	// Version orders the chart's versions (SemVer, newest first).
	Version string
	// YAML is from EntryYAML, JSON from EntryJSON; a renderer only needs its
	// own.
	YAML, JSON []byte
}

// NewEntry renders cv in both forms.
func NewEntry(cv *ChartVersion) (Entry, error) {
	y, err := EntryYAML(cv)
	if err != nil {
		return Entry{}, err
	}
	return newEntry(cv, y)
}

// newEntry adds cv's JSON to its YAML, y.
func newEntry(cv *ChartVersion, y []byte) (Entry, error) {
	j, err := EntryJSON(cv)
	if err != nil {
		return Entry{}, err
	}
	// The renderers hand back buffers with up to as much again in spare
	// capacity (and EntryYAML a cut of a larger document); a server keeps
	// an Entry per version, so both are copied into one exact allocation.
	buf := make([]byte, len(y)+len(j))
	copy(buf, y)
	copy(buf[len(y):], j)
	e := Entry{YAML: buf[:len(y):len(y)], JSON: buf[len(y):]}
	if cv.Metadata != nil {
		e.Name, e.Version = cv.Name, cv.Version
	}
	return e, nil
}

// Header is everything in an index but its entries.
type Header struct {
	APIVersion  string
	Generated   time.Time
	PublicKeys  []string
	Annotations map[string]string
	// ServerInfo is e.g. {"contextPath": "/tenant"}, as ChartMuseum writes.
	ServerInfo map[string]interface{}
}

// Header returns f's header.
func (f *File) Header() Header {
	return Header{
		APIVersion:  f.APIVersion,
		Generated:   f.Generated,
		PublicKeys:  f.PublicKeys,
		Annotations: f.Annotations,
		ServerInfo:  f.ServerInfo,
	}
}

// Fragments renders every version of f, listed under its map key.
func (f *File) Fragments() ([]Entry, error) {
	var out []Entry
	for name, cvs := range f.Entries {
		for _, cv := range cvs {
			e, err := NewEntry(cv)
			if err != nil {
				return nil, err
			}
			e.Name = name
			out = append(out, e)
		}
	}
	return out, nil
}

// group groups entries by chart name, as indices into entries, each group
// newest version first; entries with equal versions keep their relative
// order. It checks that every entry has the rendering wanted, so nothing is
// written on error.
func group(entries []Entry, rendering func(Entry) []byte) (map[string][]int, error) {
	byName := make(map[string][]int)
	for i, e := range entries {
		if len(rendering(e)) == 0 {
			return nil, fmt.Errorf("index: entry %s-%s is not rendered in this form", e.Name, e.Version)
		}
		byName[e.Name] = append(byName[e.Name], i)
	}
	for _, is := range byName {
		sortVersions(is, func(i int) string { return entries[i].Version })
	}
	return byName, nil
}

// Placed is told, for each entry written, its index in the entries given
// and the offset in the output where its bytes start. A server that keeps
// the output can later reuse each entry's bytes from it, by offset and
// length, instead of rendering them again.
type Placed func(entry int, offset int64)

// countingWriter counts what passes through it to w.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) WriteString(s string) {
	n, _ := c.w.WriteString(s)
	c.n += int64(n)
}

// RenderYAML writes index.yaml from pre-rendered entries (Entry.YAML), in
// any order: charts in the YAML emitter's key order, versions newest first.
// Nothing is written when an entry is unusable; a write error can leave a
// partial index, so write to a temporary file or buffer.
func RenderYAML(w io.Writer, h Header, entries []Entry) error {
	return RenderYAMLPlaced(w, h, entries, nil)
}

// RenderYAMLPlaced is RenderYAML, telling placed (when not nil) where each
// entry went.
func RenderYAMLPlaced(w io.Writer, h Header, entries []Entry, placed Placed) error {
	head, err := marshalYAML(struct {
		Annotations map[string]string `json:"annotations,omitempty"`
		APIVersion  string            `json:"apiVersion"`
	}{h.Annotations, h.APIVersion})
	if err != nil {
		return fmt.Errorf("index: rendering header: %w", err)
	}
	tail, err := marshalYAML(struct {
		Generated  time.Time              `json:"generated"`
		PublicKeys []string               `json:"publicKeys,omitempty"`
		ServerInfo map[string]interface{} `json:"serverInfo,omitempty"`
	}{h.Generated, h.PublicKeys, h.ServerInfo})
	if err != nil {
		return fmt.Errorf("index: rendering header: %w", err)
	}
	byName, err := group(entries, func(e Entry) []byte { return e.YAML })
	if err != nil {
		return err
	}
	names, keys, err := yamlKeyOrder(byName)
	if err != nil {
		return err
	}

	bw := bufio.NewWriter(w)
	cw := &countingWriter{w: bw}
	cw.Write(head)
	if len(names) == 0 {
		cw.WriteString("entries: {}\n")
	} else {
		cw.WriteString("entries:\n")
	}
	for i, name := range names {
		cw.WriteString("  ")
		cw.Write(keys[i])
		cw.WriteString(":\n")
		for _, j := range byName[name] {
			if placed != nil {
				placed(j, cw.n)
			}
			cw.Write(entries[j].YAML)
		}
	}
	cw.Write(tail)
	return bw.Flush()
}

// yamlKeyOrder returns the chart names in the order the YAML emitter writes
// map keys, and each name as the emitter writes it as a key (quoted when
// needed). Both come from marshalling a map of the names, which gives
// "key:\n- index\n" per name; marshalYAML writes that map, as every map,
// in the same order each time, even for names go-yaml's sort alone would
// order differently from run to run ("27B", "2A", "3").
func yamlKeyOrder(byName map[string][]int) ([]string, [][]byte, error) {
	names := make([]string, 0, len(byName))
	probe := make(map[string][]int, len(byName))
	for name := range byName {
		probe[name] = []int{len(names)}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	b, err := marshalYAML(probe)
	if err != nil {
		return nil, nil, fmt.Errorf("index: ordering chart names: %w", err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != 2*len(names) {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnrenderableName, unrenderable(names))
	}
	ordered := make([]string, len(names))
	keys := make([][]byte, len(names))
	for i := range names {
		key, ok := bytes.CutSuffix(lines[2*i], []byte(":"))
		item, ok2 := bytes.CutPrefix(lines[2*i+1], []byte("- "))
		n, err := strconv.Atoi(string(item))
		if !ok || !ok2 || err != nil || n < 0 || n >= len(names) || bytes.HasPrefix(key, []byte("? ")) {
			return nil, nil, fmt.Errorf("%w: %s", ErrUnrenderableName, unrenderable(names))
		}
		ordered[i], keys[i] = names[n], key
	}
	return ordered, keys, nil
}

// unrenderable names the first offending chart name, for the error.
func unrenderable(names []string) string {
	for _, n := range names {
		if len(n) > 128 || bytes.ContainsAny([]byte(n), "\n\r") {
			return strconv.Quote(n)
		}
	}
	return "(unknown)"
}

// RenderJSON writes index.json from pre-rendered entries (Entry.JSON), in
// any order: byte-for-byte json.MarshalIndent(file, "", "  ") of the sorted
// File. Errors are as for RenderYAML.
func RenderJSON(w io.Writer, h Header, entries []Entry) error {
	return RenderJSONPlaced(w, h, entries, nil)
}

// RenderJSONPlaced is RenderJSON, telling placed (when not nil) where each
// entry went.
func RenderJSONPlaced(w io.Writer, h Header, entries []Entry, placed Placed) error {
	head, err := json.MarshalIndent(struct {
		APIVersion string    `json:"apiVersion"`
		Generated  time.Time `json:"generated"`
	}{h.APIVersion, h.Generated}, "", "  ")
	if err != nil {
		return fmt.Errorf("index: rendering header: %w", err)
	}
	tail, err := json.MarshalIndent(struct {
		PublicKeys  []string               `json:"publicKeys,omitempty"`
		Annotations map[string]string      `json:"annotations,omitempty"`
		ServerInfo  map[string]interface{} `json:"serverInfo,omitempty"`
	}{h.PublicKeys, h.Annotations, h.ServerInfo}, "", "  ")
	if err != nil {
		return fmt.Errorf("index: rendering header: %w", err)
	}
	byName, err := group(entries, func(e Entry) []byte { return e.JSON })
	if err != nil {
		return err
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	// encoding/json sorts map keys bytewise.
	sort.Strings(names)

	bw := bufio.NewWriter(w)
	cw := &countingWriter{w: bw}
	cw.Write(bytes.TrimSuffix(head, []byte("\n}")))
	cw.WriteString(",\n  \"entries\": {")
	for i, name := range names {
		key, err := json.Marshal(name)
		if err != nil {
			return fmt.Errorf("index: rendering chart name: %w", err)
		}
		if i > 0 {
			cw.WriteString(",")
		}
		cw.WriteString("\n    ")
		cw.Write(key)
		cw.WriteString(": [")
		for k, j := range byName[name] {
			if k > 0 {
				cw.WriteString(",")
			}
			cw.WriteString("\n" + jsonPrefix)
			if placed != nil {
				placed(j, cw.n)
			}
			cw.Write(entries[j].JSON)
		}
		cw.WriteString("\n    ]")
	}
	if len(names) > 0 {
		cw.WriteString("\n  ")
	}
	cw.WriteString("}")
	if string(tail) == "{}" {
		cw.WriteString("\n}")
	} else {
		cw.WriteString(",")
		cw.Write(tail[1:])
	}
	return bw.Flush()
}
