package index

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/chartd/chartd/chart"
)

// errNotFast makes decodeFast give up; LoadCompact then uses Load. The fast
// path only has to be right for what it accepts.
var errNotFast = errors.New("index layout not handled by the fast parser")

// decodeCompact decodes an index.yaml in the block layout that Helm,
// chartd and ChartMuseum write (what sigs.k8s.io/yaml emits): block mappings
// and sequences, plain (possibly folded), single- or double-quoted and
// literal scalars. It reads each version into one scratch ChartVersion,
// filling only what a Summary keeps and what validation checks (name,
// version, apiVersion, type, dependency names and aliases), applies Load's
// rules to it (admit), and keeps its Summary; everything else is decoded
// only far enough to know that Load would accept it.
//
// Load decodes strictly, through go-yaml v2 and JSON, so decodeCompact
// returns errNotFast for anything where the two might differ: an unknown
// or duplicated key, a plain scalar that YAML 1.1 resolves to something
// other than a string (yes, 1.0, 2024-01-01, ~ in a list), a value of the
// wrong shape, and the syntax it does not read (comments after values,
// anchors, tags, folded block scalars, flow collections other than [] and
// {}, tabs, a byte order mark). FuzzFastYAML holds it to Load.
func decodeCompact(data []byte, log *slog.Logger) (*Compact, error) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || !yamlPrintable(data) {
		return nil, errNotFast
	}
	// One conversion up front: every line and scalar is then a substring,
	// with no allocation per line.
	p := &fastParser{data: string(data)}
	c := &Compact{}
	var seen keySet
	for {
		l, ok := p.next()
		if !ok {
			break
		}
		if l.indent != 0 {
			return nil, errNotFast
		}
		key, val, err := splitKey(l.text)
		if err != nil {
			return nil, err
		}
		switch key {
		case "apiVersion":
			if err = seen.add(0); err == nil {
				c.APIVersion, err = p.str(val, 0)
			}
		case "generated":
			if err = seen.add(1); err == nil {
				err = p.timestamp(val, 0)
			}
		case "entries":
			if err = seen.add(2); err == nil {
				c.Entries, err = p.entries(val)
			}
		case "publicKeys":
			if err = seen.add(3); err == nil {
				_, err = p.seq(val, 0)
			}
		case "annotations":
			if err = seen.add(4); err == nil {
				err = p.stringMap(val, 0)
			}
		case "serverInfo":
			if err = seen.add(5); err == nil {
				c.ContextPath, err = p.serverInfo(val)
			}
		default:
			err = errNotFast
		}
		if err != nil {
			return nil, err
		}
	}
	if c.Entries == nil {
		c.Entries = map[string][]*Summary{}
	}
	// Logged only now: a fallback to Load would log them again.
	for _, s := range p.skipped {
		logSkip(log, s.name, s.version, s.err)
	}
	if c.APIVersion == "" {
		return nil, ErrNoAPIVersion
	}
	return c, nil
}

// keySet records which of a mapping's known keys were seen: a repeated key
// is an error to the strict decoder.
type keySet uint32

func (s *keySet) add(bit uint) error {
	if *s&(1<<bit) != 0 {
		return errNotFast
	}
	*s |= 1 << bit
	return nil
}

type fastParser struct {
	data string
	pos  int
	// peeked holds a line read but not consumed, when hasPeeked.
	peeked    line
	hasPeeked bool
	// skipped are the entries admit refused.
	skipped []skip
}

type skip struct {
	name, version string
	err           error
}

type line struct {
	indent int
	text   string // content after the indentation, right-trimmed
}

// next returns the next non-empty line; comment lines are skipped.
func (p *fastParser) next() (line, bool) {
	if p.hasPeeked {
		p.hasPeeked = false
		return p.peeked, true
	}
	for p.pos < len(p.data) {
		end := strings.IndexByte(p.data[p.pos:], '\n')
		var raw string
		if end < 0 {
			raw, p.pos = p.data[p.pos:], len(p.data)
		} else {
			raw, p.pos = p.data[p.pos:p.pos+end], p.pos+end+1
		}
		ind := 0
		for ind < len(raw) && raw[ind] == ' ' {
			ind++
		}
		text := strings.TrimRight(raw[ind:], " \r")
		if text == "" || text[0] == '#' {
			continue
		}
		return line{ind, text}, true
	}
	return line{}, false
}

func (p *fastParser) peek() (line, bool) {
	l, ok := p.next()
	if ok {
		p.peeked, p.hasPeeked = l, true
	}
	return l, ok
}

// splitKey splits "key: value" or "key:". The key must be a plain scalar
// that YAML 1.1 reads as a string, as the decoder's map keys and field
// names are.
func splitKey(s string) (key, val string, err error) {
	if s == "" || strings.ContainsAny(s[:1], `"'{[&*!|>%@-?`+"`") || strings.ContainsRune(s, '\t') {
		return "", "", errNotFast
	}
	if strings.HasSuffix(s, ":") {
		key, val = s[:len(s)-1], ""
	} else {
		i := strings.Index(s, ": ")
		if i <= 0 {
			return "", "", errNotFast
		}
		key, val = s[:i], strings.TrimLeft(s[i+2:], " ")
	}
	key = strings.TrimRight(key, " ")
	if key == "" || strings.ContainsAny(key, "#'\"{}[],&*!|>%@`:\\") || !plainIsString(key) {
		return "", "", errNotFast
	}
	return key, val, nil
}

// str decodes a value bound for a string field.
func (p *fastParser) str(v string, ind int) (string, error) {
	s, plain, err := p.scalar(v, ind)
	if err != nil || !plain {
		return s, err
	}
	if isNull(s) {
		return "", nil
	}
	if !plainIsString(s) {
		// The strict decoder turns it into a string its own way
		// (yes → "true", 1.0 → "1"): leave that to it.
		return "", errNotFast
	}
	return s, nil
}

// boolean decodes a value bound for a bool field: YAML 1.1's booleans, or
// null for false.
func (p *fastParser) boolean(v string, ind int) (bool, error) {
	s, plain, err := p.scalar(v, ind)
	if err != nil {
		return false, err
	}
	if b, ok := yaml11Bools[s]; plain && ok {
		return b, nil
	}
	if plain && isNull(s) {
		return false, nil
	}
	return false, errNotFast
}

// timestamp checks a value bound for a time.Time field: null, or a quoted
// string that encoding/json reads as a time.
func (p *fastParser) timestamp(v string, ind int) error {
	s, plain, err := p.scalar(v, ind)
	if err != nil {
		return err
	}
	if plain {
		if isNull(s) {
			return nil
		}
		return errNotFast
	}
	var t time.Time
	if t.UnmarshalJSON(strconv.AppendQuote(nil, s)) != nil {
		return errNotFast
	}
	return nil
}

// seq reads a sequence of strings (keywords, urls, sources) that follows a
// key at indent ind: "[]", "- item" lines at indent >= ind, or nothing
// (null).
func (p *fastParser) seq(v string, ind int) ([]string, error) {
	if v == "[]" {
		return []string{}, nil
	}
	if v != "" {
		return nil, errNotFast
	}
	var out []string
	dash := -1
	for {
		l, ok := p.peek()
		if !ok || l.indent < ind || !strings.HasPrefix(l.text, "- ") && l.text != "-" {
			break
		}
		if dash < 0 {
			dash = l.indent
		} else if l.indent != dash {
			return nil, errNotFast
		}
		p.hasPeeked = false
		item := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if item == "" || item[0] == '#' || item[0] == '-' {
			return nil, errNotFast
		}
		s, plain, err := p.scalar(item, dash)
		if err != nil {
			return nil, err
		}
		if plain && !plainIsString(s) {
			// null (which JSON makes ""), or a non-string
			return nil, errNotFast
		}
		out = append(out, s)
	}
	return out, nil
}

// mapping calls f for each "key: value" line of the block mapping nested
// under a key at indent parent.
func (p *fastParser) mapping(parent int, f func(k, v string, ind int) error) error {
	ind := -1
	for {
		l, ok := p.peek()
		if !ok || l.indent <= parent {
			return nil
		}
		if ind < 0 {
			ind = l.indent
		} else if l.indent != ind {
			return errNotFast
		}
		p.hasPeeked = false
		k, v, err := splitKey(l.text)
		if err != nil {
			return err
		}
		if err := f(k, v, ind); err != nil {
			return err
		}
	}
}

// seqOfMaps reads a block sequence of mappings that follows a key at indent
// ind ("- k: v" items at one indent >= ind), "[]", or nothing (null). It
// calls start at each item, then field for each of its keys.
func (p *fastParser) seqOfMaps(v string, ind int, start func(), field func(k, v string, ki int) error) error {
	if v == "[]" {
		return nil
	}
	if v != "" {
		return errNotFast
	}
	dash := -1
	for {
		l, ok := p.peek()
		if !ok || l.indent < ind || !strings.HasPrefix(l.text, "- ") {
			return nil
		}
		if dash < 0 {
			dash = l.indent
		} else if l.indent != dash {
			return errNotFast
		}
		// "- key: value" opens the item's mapping at dash+2: re-read the
		// rest of the line as its first key.
		if len(l.text) < 3 || l.text[2] == ' ' {
			return errNotFast
		}
		p.peeked, p.hasPeeked = line{indent: dash + 2, text: l.text[2:]}, true
		start()
		if err := p.mapping(dash, field); err != nil {
			return err
		}
	}
}

// stringMap checks a map[string]string value (annotations) following a key
// at indent ind.
func (p *fastParser) stringMap(v string, ind int) error {
	if v == "{}" {
		return nil
	}
	if v != "" {
		return errNotFast
	}
	var seen []string
	return p.mapping(ind, func(k, v string, ki int) error {
		for _, s := range seen {
			if s == k {
				return errNotFast
			}
		}
		seen = append(seen, k)
		_, err := p.str(v, ki)
		return err
	})
}

// serverInfo reads the top-level serverInfo mapping, scalar values only,
// and returns its contextPath when that is a string.
func (p *fastParser) serverInfo(v string) (string, error) {
	if v == "{}" {
		return "", nil
	}
	if v != "" {
		return "", errNotFast
	}
	var seen []string
	var contextPath string
	err := p.mapping(0, func(k, v string, ki int) error {
		for _, s := range seen {
			if s == k {
				return errNotFast
			}
		}
		seen = append(seen, k)
		s, plain, err := p.scalar(v, ki)
		switch {
		case err != nil:
			return err
		case plain && isNull(s):
		case plain && !plainIsString(s):
			return errNotFast
		case k == "contextPath":
			contextPath = s
		}
		return nil
	})
	return contextPath, err
}

func (p *fastParser) entries(v string) (map[string][]*Summary, error) {
	if v == "{}" {
		return map[string][]*Summary{}, nil
	}
	if v != "" {
		return nil, errNotFast
	}
	var out map[string][]*Summary
	// One scratch version, reused: only the Summaries of admitted
	// versions are allocated.
	var md chart.Metadata
	var cv ChartVersion
	err := p.mapping(0, func(name, v string, ind int) error {
		if out == nil {
			out = map[string][]*Summary{}
		}
		if _, dup := out[name]; dup {
			return errNotFast
		}
		var vals []Summary
		open := false
		finish := func() {
			if !open {
				return
			}
			open = false
			if err := admit(&cv); err != nil {
				p.skipped = append(p.skipped, skip{name, cv.Version, err})
				return
			}
			vals = append(vals, Summary{
				Name: md.Name, Version: md.Version, AppVersion: md.AppVersion, Description: md.Description,
				Keywords: md.Keywords, URLs: cv.URLs, Digest: cv.Digest, Deprecated: md.Deprecated,
			})
		}
		var seen keySet
		err := p.seqOfMaps(v, ind, func() {
			finish()
			md, cv = chart.Metadata{}, ChartVersion{Metadata: &md}
			seen, open = 0, true
		}, func(k, v string, ki int) error { return p.field(&cv, &seen, k, v, ki) })
		if err != nil {
			return err
		}
		finish()
		out[name] = summaries(vals)
		return nil
	})
	return out, err
}

// versionKeys are the keys of a chart version (ChartVersion and the
// chart.Metadata it embeds), by their bit in a keySet.
var versionKeys = [...]string{
	"name", "version", "appVersion", "description", "apiVersion", "type", "digest", "keywords", "urls",
	"deprecated", "created", "removed", "sources", "annotations", "maintainers", "dependencies",
	"home", "icon", "condition", "tags", "kubeVersion", "checksum", "engine", "tillerVersion", "url",
}

// keyIndex returns the position of k in keys.
func keyIndex(keys []string, k string) (uint, bool) {
	for i, key := range keys {
		if key == k {
			return uint(i), true
		}
	}
	return 0, false
}

// field decodes one key of a chart version.
func (p *fastParser) field(cv *ChartVersion, seen *keySet, k, v string, ind int) error {
	bit, ok := keyIndex(versionKeys[:], k)
	if !ok {
		return errNotFast
	}
	if err := seen.add(bit); err != nil {
		return err
	}
	md := cv.Metadata
	var err error
	switch versionKeys[bit] {
	case "name":
		md.Name, err = p.str(v, ind)
	case "version":
		md.Version, err = p.str(v, ind)
	case "appVersion":
		md.AppVersion, err = p.str(v, ind)
	case "description":
		md.Description, err = p.str(v, ind)
	case "apiVersion":
		md.APIVersion, err = p.str(v, ind)
	case "type":
		md.Type, err = p.str(v, ind)
	case "digest":
		cv.Digest, err = p.str(v, ind)
	case "keywords":
		md.Keywords, err = p.seq(v, ind)
	case "urls":
		cv.URLs, err = p.seq(v, ind)
	case "deprecated":
		md.Deprecated, err = p.boolean(v, ind)
	case "created":
		err = p.timestamp(v, ind)
	case "removed":
		_, err = p.boolean(v, ind)
	case "sources":
		_, err = p.seq(v, ind)
	case "annotations":
		err = p.stringMap(v, ind)
	case "maintainers":
		err = p.maintainers(v, ind)
	case "dependencies":
		md.Dependencies, err = p.dependencies(v, ind)
	default: // string fields neither kept nor validated
		_, err = p.str(v, ind)
	}
	return err
}

var maintainerKeys = [...]string{"name", "email", "url"}

// maintainers checks a list of maintainers. Their values are not kept:
// validation only rejects null items, which this parser does not read.
func (p *fastParser) maintainers(v string, ind int) error {
	var seen keySet
	return p.seqOfMaps(v, ind, func() { seen = 0 }, func(k, v string, ki int) error {
		bit, ok := keyIndex(maintainerKeys[:], k)
		if !ok {
			return errNotFast
		}
		if err := seen.add(bit); err != nil {
			return err
		}
		_, err := p.str(v, ki)
		return err
	})
}

// dependencyKeys leaves out import-values, which holds anything at all:
// that is the strict decoder's job.
var dependencyKeys = [...]string{"name", "alias", "version", "repository", "condition", "tags", "enabled"}

// dependencies reads a list of dependencies, keeping the name and alias
// that validation checks.
func (p *fastParser) dependencies(v string, ind int) ([]*chart.Dependency, error) {
	var out []*chart.Dependency
	var d *chart.Dependency
	var seen keySet
	err := p.seqOfMaps(v, ind, func() {
		d = &chart.Dependency{}
		out = append(out, d)
		seen = 0
	}, func(k, v string, ki int) error {
		bit, ok := keyIndex(dependencyKeys[:], k)
		if !ok {
			return errNotFast
		}
		if err := seen.add(bit); err != nil {
			return err
		}
		var err error
		switch k {
		case "name":
			d.Name, err = p.str(v, ki)
		case "alias":
			d.Alias, err = p.str(v, ki)
		case "tags":
			_, err = p.seq(v, ki)
		case "enabled":
			_, err = p.boolean(v, ki)
		default:
			_, err = p.str(v, ki)
		}
		return err
	})
	return out, err
}
