package repo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// slowParse is the reference: the general YAML decoder.
func slowParse(t testing.TB, data []byte) (*IndexFile, error) {
	t.Helper()
	idx := &IndexFile{}
	if err := yaml3.Unmarshal(data, idx); err != nil {
		return nil, err
	}
	return idx, nil
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

func TestFastYAMLMatchesGeneralParser(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	handled := 0
	for i := range 400 {
		benign := i%2 == 0
		data := randomIndex(r, 1+r.IntN(4), 1+r.IntN(4), benign)
		want, err := slowParse(t, data)
		if err != nil {
			t.Fatalf("case %d: reference parser: %v\n%s", i, err, data)
		}
		got, err := parseFastYAML(data)
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
	seed, err := os.ReadFile("testdata/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFastYAML(seed); err != nil {
		t.Errorf("testdata/index.yaml not handled: %v", err)
	}
}

func FuzzFastYAML(f *testing.F) {
	seed, _ := os.ReadFile("testdata/index.yaml")
	f.Add(seed)
	r := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		f.Add(randomIndex(r, 2, 2, false))
		f.Add(randomIndex(r, 2, 2, true))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseFastYAML(data)
		if err != nil {
			return
		}
		want, err := slowParse(t, data)
		if err != nil {
			// The fast path may accept a superset only where YAML is
			// invalid for reasons irrelevant to the fields it reads
			// (e.g. duplicate keys); it must never disagree on valid input.
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("fast parse differs (-want +got):\n%s", diff)
		}
	})
}

// BenchmarkParseIndex compares the fast path with the general YAML
// decoder and with JSON on an index of 15,000 versions in Helm's layout.
func BenchmarkParseIndex(b *testing.B) {
	data := randomIndex(rand.New(rand.NewPCG(5, 6)), 500, 30, true)
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast-yaml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := parseFastYAML(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general-yaml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := slowParse(b, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.SetBytes(int64(len(j)))
		for b.Loop() {
			if _, err := ParseIndex(j); err != nil {
				b.Fatal(err)
			}
		}
	})
}
