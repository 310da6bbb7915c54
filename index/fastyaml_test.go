package index

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// viaLoad is the reference: Load, reduced.
func viaLoad(data []byte) (*Compact, error) {
	f, err := Load(data)
	if err != nil {
		return nil, err
	}
	return f.Compact(), nil
}

// viaFast is the fast path alone; errNotFast when it declines, or when
// LoadCompact would not offer it the data (empty, or JSON).
func viaFast(data []byte) (*Compact, error) {
	if len(data) == 0 || json.Valid(data) {
		return nil, errNotFast
	}
	return decodeCompact(data, nil)
}

// randomIndex renders, the way Helm writes index.yaml (sigs.k8s.io/yaml,
// which folds long strings), entries with awkward strings.
func randomIndex(r *rand.Rand, charts, versions int, benign bool) []byte {
	words := []string{"db", "web", "a: b", "x #y", "'q'", `"dq"`, "ünï", "tab\there", "back\\slash", "-dash", "? q", "@at", "long " + strings.Repeat("word ", 30), "yes", "1.0", "null", "~", "", " lead", "trail ", "new\nline", "*star", "&amp", "{brace}", "[br]", "%pct", "`tick`", "|pipe", ">gt", "!bang", "#hash"}
	if benign {
		words = []string{"db", "web", "A chart for Kubernetes", "ünïcode", "yes", "1.0", "", "it's", "x: y", "multi\nline\n", "multi\n\nline", "trail\n\n", "long " + strings.Repeat("word ", 30), "v1.2.3", "https://example.com/a?b=c"}
	}
	w := func() string { return words[r.IntN(len(words))] }
	type md struct {
		Name        string              `json:"name"`
		Version     string              `json:"version"`
		AppVersion  string              `json:"appVersion,omitempty"`
		Description string              `json:"description,omitempty"`
		Keywords    []string            `json:"keywords,omitempty"`
		URLs        []string            `json:"urls"`
		Digest      string              `json:"digest,omitempty"`
		Deprecated  bool                `json:"deprecated,omitempty"`
		Maintainers []map[string]string `json:"maintainers,omitempty"`
		Annotations map[string]string   `json:"annotations,omitempty"`
		Home        string              `json:"home,omitempty"`
	}
	entries := map[string][]md{}
	for c := range charts {
		name := fmt.Sprintf("c%d-%s", c, strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return -1
		}, w()))
		if len(name) > 40 {
			// go-yaml writes keys over 128 bytes as "? key"; chart
			// names that long take the general parser.
			name = name[:40]
		}
		for v := range versions {
			m := md{Name: name, Version: fmt.Sprintf("%d.%d.%d", v, r.IntN(3), r.IntN(3)), AppVersion: w(), Description: w() + " " + w(),
				URLs: []string{name + ".tgz", w()}, Digest: fmt.Sprintf("%x", r.Uint64()), Deprecated: r.IntN(4) == 0, Home: w()}
			for range r.IntN(3) {
				m.Keywords = append(m.Keywords, w())
			}
			if r.IntN(2) == 0 {
				m.Maintainers = []map[string]string{{"name": w(), "email": w()}, {"name": w()}}
				m.Annotations = map[string]string{"k": w(), "category": w()}
			}
			entries[name] = append(entries[name], m)
		}
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": entries, "generated": "2024-01-01T00:00:00Z", "serverInfo": map[string]string{"contextPath": w()}})
	if err != nil {
		panic(err)
	}
	return b
}

func TestFastYAMLMatchesLoad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	handled := 0
	for i := range 400 {
		benign := i%2 == 0
		data := randomIndex(r, 1+r.IntN(4), 1+r.IntN(4), benign)
		want, err := viaLoad(data)
		if err != nil {
			t.Fatalf("case %d: Load: %v\n%s", i, err, data)
		}
		got, err := viaFast(data)
		if err == errNotFast && !benign {
			continue
		}
		if benign {
			handled++
		}
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, data)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("case %d: fast parse differs (-want +got):\n%s\n%s", i, diff, data)
		}
	}
	// Helm's own layout must take the fast path, or it is no optimisation.
	if handled != 200 {
		t.Errorf("fast path handled %d of 200 indexes in Helm's layout", handled)
	}
	// chartd's adversarial golden index (render_test.go) takes the
	// general decoder for its quoted keys and import-values; the result
	// must still be Load's.
	data, err := os.ReadFile("testdata/index.golden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := viaLoad(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadCompact(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("golden index: LoadCompact differs from Load (-want +got):\n%s", diff)
	}
}

// TestLoadCompactAgreesWithLoad: where an index is unusual, LoadCompact
// gives what Load gives: the same error, or the same versions with the same
// values. (The client's former index model accepted an unknown field, a
// repeated key and "description: yes", all of which Helm refuses, and kept
// entries Helm skips, such as "type: other".)
func TestLoadCompactAgreesWithLoad(t *testing.T) {
	const head = "apiVersion: v1\nentries:\n  a:\n  - name: a\n    urls:\n    - a.tgz\n"
	for _, tt := range []struct {
		name, data string
		fast       bool // the fast path takes it
	}{
		{"plain", head + "    version: 1.0.0\n", true},
		{"unknown field", head + "    version: 1.0.0\n    bogus: x\n", false},
		{"unknown top-level field", "apiVersion: v1\nbogus: 1\n", false},
		{"duplicate key", head + "    version: 1.0.0\n    version: 1.1.0\n", false},
		{"duplicate chart", "apiVersion: v1\nentries:\n  a: []\n  a: []\n", false},
		{"duplicate annotation", head + "    version: 1.0.0\n    annotations:\n      k: a\n      k: b\n", false},
		{"YAML 1.1 bool as a string", head + "    version: 1.0.0\n    description: yes\n", false},
		{"YAML 1.1 float as a string", head + "    version: 1.0.0\n    appVersion: 1.10\n", false},
		{"float version", head + "    version: 1.0\n", false},
		{"timestamp as a string", head + "    version: 1.0.0\n    appVersion: 2024-01-01\n", false},
		{"quoted float", head + "    version: 1.0.0\n    appVersion: \"1.10\"\n", true},
		{"null entry", "apiVersion: v1\nentries:\n  a:\n  - null\n", false},
		{"no name", "apiVersion: v1\nentries:\n  a:\n  - version: 1.0.0\n", true},
		{"not semver", head + "    version: one\n", true},
		{"bad type", head + "    version: 1.0.0\n    type: other\n", true},
		{"bad alias", head + "    version: 1.0.0\n    dependencies:\n    - name: d\n      alias: a/b\n", true},
		{"duplicate dependency", head + "    version: 1.0.0\n    dependencies:\n    - name: d\n    - name: d\n", true},
		{"import-values", head + "    version: 1.0.0\n    dependencies:\n    - name: d\n      import-values: [x]\n", false},
		{"bad created", head + "    version: 1.0.0\n    created: yesterday\n", false},
		{"quoted bad created", head + "    version: 1.0.0\n    created: \"yesterday\"\n", false},
		{"good created", head + "    version: 1.0.0\n    created: \"2024-01-01T00:00:00Z\"\n", true},
		{"deprecated yes", head + "    version: 1.0.0\n    deprecated: yes\n", true},
		{"deprecated string", head + "    version: 1.0.0\n    deprecated: \"true\"\n", false},
		{"keywords scalar", head + "    version: 1.0.0\n    keywords: x\n", false},
		{"null keyword", head + "    version: 1.0.0\n    keywords:\n    - ~\n", false},
		{"control characters", head + "    version: 1.0.0\n    description: \"a\\tb\\u0007c\"\n", true},
		{"no apiVersion", "entries: {}\n", true},
		{"null maintainer", head + "    version: 1.0.0\n    maintainers:\n    - null\n", false},
		{"whitespace only", "  \n", true},
		{"flow sequence", "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    urls: [a.tgz]\n", false},
		{"serverInfo", "apiVersion: v1\nserverInfo:\n  contextPath: /x\n  other: 1\n", false},
		{"serverInfo path", "apiVersion: v1\nserverInfo:\n  contextPath: /x\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			want, wantErr := viaLoad(data)
			got, err := LoadCompact(data)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("LoadCompact error %v, Load error %v", err, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadCompact differs from Load (-want +got):\n%s", diff)
			}
			if _, err := viaFast(data); (err != errNotFast) != tt.fast {
				t.Errorf("fast path: %v, want taken = %v", err, tt.fast)
			}
		})
	}
}

// FuzzFastYAML: whatever the fast path accepts, Load accepts, with the same
// result; and LoadCompact always agrees with Load.
func FuzzFastYAML(f *testing.F) {
	seed, _ := os.ReadFile("testdata/index.golden.yaml")
	f.Add(seed)
	f.Add([]byte(helmStyleIndex))
	f.Add([]byte(`{"apiVersion":"v1","entries":{"a":[null,{"name":"a","version":"1.0.0","urls":["u"],"maintainers":[null]},{"NAME":"a","version":"1.1.0","home":1}]}}`))
	f.Add([]byte(`{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"2.0.0","sources":[null,"s"],"annotations":{"k":null},"dependencies":[{"name":"d","alias":"x"},{"name":"x"}]}]},"serverInfo":{"contextPath":"/c"}}`))
	r := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		f.Add(randomIndex(r, 2, 2, false))
		f.Add(randomIndex(r, 2, 2, true))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := viaLoad(data)
		got, err := LoadCompact(data)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("LoadCompact error %v, Load error %v", err, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("LoadCompact differs from Load (-want +got):\n%s", diff)
		}
		fast, err := viaFast(data)
		if err == errNotFast {
			return
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("fast path error %v, Load error %v", err, wantErr)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Fatalf("fast parse differs (-want +got):\n%s", diff)
		}
	})
}

// BenchmarkLoadCompact compares the fast path with Load's general YAML
// decoder and with JSON, on an index of 15,000 versions in Helm's layout.
func BenchmarkLoadCompact(b *testing.B) {
	data := randomIndex(rand.New(rand.NewPCG(5, 6)), 500, 30, true)
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := viaFast(data); err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name string
		data []byte
		load func([]byte) (*Compact, error)
	}{
		{"fast-yaml", data, LoadCompact},
		{"general-yaml", data, viaLoad},
		{"json", j, LoadCompact},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.load(bm.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
