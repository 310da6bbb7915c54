package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

var update = flag.Bool("update", false, "rewrite golden files")

// awkward are strings that stress YAML quoting, folding and block styles.
var awkward = []string{
	"plain",
	"multi-line\ndescription\n\nwith a blank line\n  and indentation\n",
	"trailing newline\n",
	"no trailing newline\nsecond",
	"trailing spaces   ",
	" leading space",
	"Zoë Ünicode — “quotes” and emoji 🚀",
	`double "quotes" and 'single' and back\slash`,
	"yes", "no", "on", "off", "true", "~", "null", "",
	"1.10", "010", "0x1F", "1e3", ".inf", "-1", "2024-01-01",
	": colon", "# hash", "- dash", "key: value", "[bracket", "{brace", "&anchor", "*alias", "!tag", "%percent", "@at", "`tick",
	"a long description that goes on and on well past the eighty column limit of the YAML emitter so that it gets folded across lines",
	"tab\tinside", "html <b>&amp;</b>",
	strings.Repeat("x", 200),
}

// fixture builds an index with tricky names, versions in shuffled order
// and awkward strings in every free-text field.
func fixture(seed uint64) *File {
	r := rand.New(rand.NewPCG(seed, 1))
	f := New(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC))
	f.PublicKeys = []string{"-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"}
	f.Annotations = map[string]string{"example.com/owner": "yes", "note": "multi\nline"}
	f.ServerInfo = map[string]interface{}{"contextPath": "/tenant/a"}
	names := []string{"chart-10", "chart-9", "chart-1", "a1", "a-b", "a_b", "A", "Z", "_x", "123", "1.5", "true", "yes", "ünicode", "x y", "a:b", "#hash", "chart-010", strings.Repeat("n", 128)}
	versions := []string{"1.0.0", "1.10.0", "1.9.0", "2.0.0-rc.1", "2.0.0", "0.1.0+build.7", "v3.0.0", "10.0.0-alpha"}
	pick := func() string { return awkward[r.IntN(len(awkward))] }
	for i, name := range names {
		vs := append([]string(nil), versions[:1+i%len(versions)]...)
		r.Shuffle(len(vs), func(a, b int) { vs[a], vs[b] = vs[b], vs[a] })
		for _, v := range vs {
			md := &chart.Metadata{
				APIVersion:  chart.APIVersionV2,
				Name:        name,
				Version:     v,
				AppVersion:  pick(),
				Description: pick(),
				Home:        pick(),
				Keywords:    []string{pick(), pick()},
				Maintainers: []*chart.Maintainer{{Name: pick(), Email: "m@example.com"}},
				Annotations: map[string]string{pick(): pick(), "category": pick()},
				Dependencies: []*chart.Dependency{{
					Name: "dep", Version: "^1.0", Repository: "https://r.example.com",
					ImportValues: []interface{}{"data", map[string]interface{}{"child": "a.b", "parent": pick()}},
				}},
				Deprecated: r.IntN(2) == 0,
			}
			f.Entries[name] = append(f.Entries[name], &ChartVersion{
				Metadata: md,
				URLs:     []string{"charts/" + name + "-" + v + ".tgz"},
				Created:  time.Date(2023, 1, 2, 3, 4, 5, r.IntN(1e9), time.FixedZone("", 3600)),
				Digest:   fmt.Sprintf("%064x", r.Uint64()),
			})
		}
	}
	return f
}

func render(t testing.TB, f *File, entries []Entry) (y, j []byte) {
	t.Helper()
	var yb, jb bytes.Buffer
	if err := RenderYAML(&yb, f.Header(), entries); err != nil {
		t.Fatal(err)
	}
	if err := RenderJSON(&jb, f.Header(), entries); err != nil {
		t.Fatal(err)
	}
	return yb.Bytes(), jb.Bytes()
}

// TestRenderMatchesMarshal proves the incremental renderer is byte-for-byte
// the whole-File marshal, whatever order the fragments come in.
func TestRenderMatchesMarshal(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := fixture(seed)
			entries, err := f.Fragments()
			if err != nil {
				t.Fatal(err)
			}
			f.SortEntries()
			wantYAML, err := yaml.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			wantJSON, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			rand.New(rand.NewPCG(seed, 2)).Shuffle(len(entries), func(a, b int) { entries[a], entries[b] = entries[b], entries[a] })
			gotYAML, gotJSON := render(t, f, entries)
			if diff := cmp.Diff(string(wantYAML), string(gotYAML)); diff != "" {
				t.Errorf("RenderYAML differs from yaml.Marshal (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(string(wantJSON), string(gotJSON)); diff != "" {
				t.Errorf("RenderJSON differs from json.MarshalIndent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderEmptyAndMinimal(t *testing.T) {
	for name, f := range map[string]*File{
		"empty":   New(time.Time{}),
		"minimal": {APIVersion: "v1", Entries: map[string]ChartVersions{"a": {{Metadata: &chart.Metadata{Name: "a", Version: "1.0.0"}}}}},
		"bare":    {APIVersion: "v1", Entries: map[string]ChartVersions{"a": {{}}}},
	} {
		t.Run(name, func(t *testing.T) {
			entries, err := f.Fragments()
			if err != nil {
				t.Fatal(err)
			}
			wantYAML, _ := yaml.Marshal(f)
			wantJSON, _ := json.MarshalIndent(f, "", "  ")
			gotYAML, gotJSON := render(t, f, entries)
			if diff := cmp.Diff(string(wantYAML), string(gotYAML)); diff != "" {
				t.Errorf("YAML (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(string(wantJSON), string(gotJSON)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderGolden(t *testing.T) {
	f := fixture(42)
	entries, err := f.Fragments()
	if err != nil {
		t.Fatal(err)
	}
	y, j := render(t, f, entries)
	for name, got := range map[string][]byte{"index.golden.yaml": y, "index.golden.json": j} {
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", golden, diff)
		}
		// The golden file loads back to the same index.
		loaded, err := Load(want)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Loading sanitizes metadata as Helm does (newlines become spaces).
		for _, cvs := range f.Entries {
			for _, cv := range cvs {
				if err := cv.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.SortEntries()
		if diff := cmp.Diff(f, loaded); diff != "" {
			t.Errorf("%s does not load back (-rendered +loaded):\n%s", name, diff)
		}
	}
}

func TestRenderRejectsLongNames(t *testing.T) {
	cv := &ChartVersion{Metadata: &chart.Metadata{Name: strings.Repeat("n", 129), Version: "1.0.0"}}
	e, err := NewEntry(cv)
	if err != nil {
		t.Fatal(err)
	}
	if err := RenderYAML(&bytes.Buffer{}, Header{APIVersion: "v1"}, []Entry{e}); !errors.Is(err, ErrUnrenderableName) {
		t.Fatalf("RenderYAML error = %v, want ErrUnrenderableName", err)
	}
	// JSON has no such limit.
	if err := RenderJSON(&bytes.Buffer{}, Header{APIVersion: "v1"}, []Entry{e}); err != nil {
		t.Fatal(err)
	}
	if _, err := EntryYAML(nil); err == nil {
		t.Error("EntryYAML(nil) succeeded")
	}
}

// FuzzRender checks the renderer against the whole-File marshal for
// arbitrary names and strings.
func FuzzRender(f *testing.F) {
	f.Add("chart", "1.0.0", "desc", "1.10", "other", "2.0.0")
	f.Add("yes", "v1", "multi\n\nline  \n", "on", "123", "1.0.0+b")
	f.Add("a-10", "1.0.0-rc.1", strings.Repeat("word ", 30), "", "a-9", "x")
	f.Fuzz(func(t *testing.T, name1, v1, desc, app, name2, v2 string) {
		file := New(time.Unix(1700000000, 5).UTC())
		for _, e := range []struct{ name, v string }{{name1, v1}, {name2, v2}, {name1, v2}} {
			file.Entries[e.name] = append(file.Entries[e.name], &ChartVersion{
				Metadata: &chart.Metadata{Name: e.name, Version: e.v, Description: desc, AppVersion: app, Annotations: map[string]string{desc: app}},
				URLs:     []string{app},
			})
		}
		entries, err := file.Fragments()
		if errors.Is(err, ErrUnrenderableKey) {
			return // a server refuses such a chart at upload
		}
		if err != nil {
			t.Fatal(err)
		}
		file.SortEntries()
		var yb, jb bytes.Buffer
		if err := RenderJSON(&jb, file.Header(), entries); err != nil {
			t.Fatal(err)
		}
		wantJSON, err := json.MarshalIndent(file, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wantJSON, jb.Bytes()) {
			t.Fatalf("JSON differs:\n%s\n---\n%s", wantJSON, jb.Bytes())
		}
		if err := RenderYAML(&yb, file.Header(), entries); err != nil {
			if errors.Is(err, ErrUnrenderableName) {
				return
			}
			t.Fatal(err)
		}
		wantYAML, err := yaml.Marshal(file)
		if err != nil {
			// The whole-file marshal cannot carry some characters (DEL,
			// C1 controls) that the renderer escapes; then the rendering
			// must load back with the same strings.
			again, lerr := Load(yb.Bytes())
			if lerr != nil {
				t.Fatalf("marshal failed (%v), and the rendering does not load: %v\n%s", err, lerr, yb.Bytes())
			}
			// Load drops versions Helm's rules refuse, such as a name with
			// a control character; what it keeps must be intact. JSON
			// makes each invalid UTF-8 byte U+FFFD, and Helm's loader
			// cleans some fields, so compare what survives both.
			norm := func(x string) string {
				return strings.Map(func(r rune) rune { // Map, like JSON, makes each invalid byte U+FFFD
					if unicode.IsSpace(r) {
						return ' '
					}
					if unicode.IsPrint(r) {
						return r
					}
					return -1
				}, x)
			}
			rendered := map[string]int{}
			for name, cvs := range file.Entries {
				rendered[norm(name)] += len(cvs)
			}
			for name, got := range again.Entries {
				if len(got) > rendered[norm(name)] {
					t.Fatalf("%q: %d versions after loading, more than the %d rendered", name, len(got), rendered[norm(name)])
				}
				for _, cv := range got {
					if norm(cv.Description) != norm(desc) || norm(cv.AppVersion) != norm(app) {
						t.Fatalf("%q: description %q app %q after loading, want %q %q", name, cv.Description, cv.AppVersion, desc, app)
					}
				}
			}
			return
		}
		if !bytes.Equal(wantYAML, yb.Bytes()) {
			t.Fatalf("YAML differs:\n%s\n---\n%s", wantYAML, yb.Bytes())
		}
	})
}

func ExampleRenderYAML() {
	cv := &ChartVersion{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "hello", Version: "0.1.0", AppVersion: "1.10"},
		URLs:     []string{"charts/hello-0.1.0.tgz"},
		Created:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Digest:   "0123abcd",
	}
	// A server renders each version once, when it is uploaded...
	e, err := NewEntry(cv)
	if err != nil {
		fmt.Println(err)
		return
	}
	// ...and assembles the index from stored fragments on every change.
	h := Header{APIVersion: APIVersionV1, Generated: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC), ServerInfo: map[string]interface{}{"contextPath": "/"}}
	if err := RenderYAML(os.Stdout, h, []Entry{e}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// apiVersion: v1
	// entries:
	//   hello:
	//   - apiVersion: v2
	//     appVersion: "1.10"
	//     created: "2024-01-02T03:04:05Z"
	//     digest: 0123abcd
	//     name: hello
	//     urls:
	//     - charts/hello-0.1.0.tgz
	//     version: 0.1.0
	// generated: "2024-01-02T03:04:06Z"
	// serverInfo:
	//   contextPath: /
}

func TestRenderRejectsUnrenderedEntries(t *testing.T) {
	e, err := NewEntry(&ChartVersion{Metadata: &chart.Metadata{Name: "a", Version: "1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	yamlOnly, jsonOnly := e, e
	yamlOnly.JSON, jsonOnly.YAML = nil, nil
	var buf bytes.Buffer
	if err := RenderYAML(&buf, Header{APIVersion: "v1"}, []Entry{e, jsonOnly}); err == nil || buf.Len() != 0 {
		t.Errorf("RenderYAML = %v, wrote %d bytes", err, buf.Len())
	}
	if err := RenderJSON(&buf, Header{APIVersion: "v1"}, []Entry{yamlOnly}); err == nil || buf.Len() != 0 {
		t.Errorf("RenderJSON = %v, wrote %d bytes", err, buf.Len())
	}
}

// bigIndex has 200 charts of 25 versions each.
func bigIndex(b *testing.B) (*File, []Entry) {
	f := New(time.Unix(1700000000, 0).UTC())
	for c := range 200 {
		name := fmt.Sprintf("chart-%d", c)
		for v := range 25 {
			md := &chart.Metadata{APIVersion: "v2", Name: name, Version: fmt.Sprintf("1.%d.0", v), AppVersion: "1.10", Description: awkward[v%len(awkward)]}
			f.Entries[name] = append(f.Entries[name], &ChartVersion{Metadata: md, URLs: []string{"charts/" + name + ".tgz"}, Digest: strings.Repeat("a", 64)})
		}
	}
	entries, err := f.Fragments()
	if err != nil {
		b.Fatal(err)
	}
	return f, entries
}

// BenchmarkRenderYAML: assembling 5000 stored fragments, versus
// BenchmarkMarshalYAML: marshalling the same index whole.
func BenchmarkRenderYAML(b *testing.B) {
	f, entries := bigIndex(b)
	for b.Loop() {
		if err := RenderYAML(io.Discard, f.Header(), entries); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalYAML(b *testing.B) {
	f, _ := bigIndex(b)
	for b.Loop() {
		if _, err := yaml.Marshal(f); err != nil {
			b.Fatal(err)
		}
	}
}

// A description or annotation with characters YAML's reader refuses raw
// (DEL, C1 controls; a Chart.yaml can carry them as "\x7f") renders, and
// loads back; before, the whole tenant's index failed. Loading cleans the
// description as Helm's loader does (spaces made ' ', other non-printable
// runes dropped); the
// annotation comes back as it was.
func TestRenderEscapesUnreadableCharacters(t *testing.T) {
	for _, s := range []string{"del\x7f", "c1\u0085\u009f", "nonchar\uffff", "plain"} {
		cv := &ChartVersion{
			Metadata: &chart.Metadata{APIVersion: "v2", Name: "web", Version: "1.0.0", Description: s, Annotations: map[string]string{"note": s}},
			URLs:     []string{"charts/web-1.0.0.tgz"},
		}
		e, err := NewEntry(cv)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var buf bytes.Buffer
		if err := RenderYAML(&buf, Header{APIVersion: "v1"}, []Entry{e}); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		f, err := Load(buf.Bytes())
		if err != nil {
			t.Fatalf("%q: rendering does not load: %v\n%s", s, err, buf.Bytes())
		}
		got := f.Entries["web"]
		printable := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return ' '
			}
			if unicode.IsPrint(r) {
				return r
			}
			return -1
		}, s)
		if len(got) != 1 || got[0].Description != printable || got[0].Annotations["note"] != s {
			t.Errorf("%q: loaded back as %+v", s, got)
		}
	}
}
