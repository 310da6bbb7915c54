package index

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	goyaml "go.yaml.in/yaml/v2"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// cyclicKeys are keys on which go-yaml's key comparator goes round in a
// circle: "27B" before "2A" (a letter after a digit), "2A" before "3"
// (2 < 3), "3" before "27B" (3 < 27). Sorting them from map iteration
// order, go-yaml writes them in an order that changes from run to run.
var cyclicKeys = []string{"27B", "2A", "3"}

// cyclicIndex has versions whose annotations and nested import-values
// maps have cyclic keys, listed under chart names that are cyclic too.
func cyclicIndex() *File {
	f := New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	ann := map[string]string{}
	nested := map[string]interface{}{}
	for i, k := range cyclicKeys {
		ann[k] = fmt.Sprint(i)
		nested[k] = i
	}
	for _, name := range cyclicKeys {
		for _, v := range []string{"1.0.0", "2.0.0"} {
			f.Entries[name] = append(f.Entries[name], &ChartVersion{
				Metadata: &chart.Metadata{APIVersion: "v2", Name: name, Version: v, Annotations: ann,
					Dependencies: []*chart.Dependency{{Name: "d", ImportValues: []interface{}{nested}}}},
				URLs: []string{"charts/" + name + "-" + v + ".tgz"},
			})
		}
	}
	return f
}

// TestRenderIsDeterministic renders the same index many times, through
// every path a server takes (one version at a time, a batch, the names'
// order), and wants the same bytes every time: index.yaml's ETag is a hash
// of them, so bytes that change with the same content break revalidation
// and make replicas disagree.
func TestRenderIsDeterministic(t *testing.T) {
	f := cyclicIndex()
	var cvs []*ChartVersion
	for _, name := range cyclicKeys {
		cvs = append(cvs, f.Entries[name]...)
	}
	renderings := map[string]func() ([]byte, error){
		"NewEntry": func() ([]byte, error) {
			var es []Entry
			for _, cv := range cvs {
				e, err := NewEntry(cv)
				if err != nil {
					return nil, err
				}
				es = append(es, e)
			}
			var buf bytes.Buffer
			err := RenderYAML(&buf, f.Header(), es)
			return buf.Bytes(), err
		},
		"NewEntries": func() ([]byte, error) {
			es, errs := NewEntries(cvs)
			for _, err := range errs {
				if err != nil {
					return nil, err
				}
			}
			var buf bytes.Buffer
			err := RenderYAML(&buf, f.Header(), es)
			return buf.Bytes(), err
		},
		"jsonToYAML": func() ([]byte, error) {
			return jsonToYAML([]byte(`{"27B":1,"2A":2,"3":{"27B":1,"2A":2,"3":3}}`))
		},
		// A byte order mark sends the conversion through go-yaml's reader.
		"jsonToYAML with a BOM": func() ([]byte, error) {
			return jsonToYAML([]byte(`{"27B":1,"2A":2,"3":"\ufeff"}`))
		},
	}
	for name, render := range renderings {
		t.Run(name, func(t *testing.T) {
			first, err := render()
			if err != nil {
				t.Fatal(err)
			}
			if len(first) == 0 {
				t.Fatal("rendered nothing")
			}
			for i := 1; i < 50; i++ {
				got, err := render()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, first) {
					t.Fatalf("rendering %d differs from the first:\n%s\n---\n%s", i, first, got)
				}
			}
		})
	}
}

// BenchmarkYAMLKeyOrder orders 10k chart names as RenderYAML does:
// ordinary names (with digits, but none the comparator can order
// inconsistently), and the same with a few names that it can.
func BenchmarkYAMLKeyOrder(b *testing.B) {
	sets := map[string]func(i int) string{
		"chart%05d": func(i int) string { return fmt.Sprintf("chart%05d", i) },
		"app-%d":    func(i int) string { return fmt.Sprintf("app-%d", i) },
		"words":     func(i int) string { return fmt.Sprintf("%c%c-exporter-%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26) },
		// A digit followed by a letter in every name: the scan sorts them.
		"k8s-app-%d": func(i int) string { return fmt.Sprintf("k8s-app-%d", i) },
	}
	for name, gen := range sets {
		for _, cyclic := range []bool{false, true} {
			byName := map[string][]int{}
			for i := range 10000 {
				byName[gen(i)] = nil
			}
			if cyclic {
				for _, k := range append(cyclicKeys, "k8s", "k80", "app1b", "app12") {
					byName[k] = nil
				}
			}
			b.Run(fmt.Sprintf("%s/cyclic=%v", name, cyclic), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := yamlKeyOrder(byName); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkNewEntries renders 1000 versions in one batch, as a cold start
// does, with annotations of the usual kind (some with digits), and with
// annotation keys go-yaml orders inconsistently.
func BenchmarkNewEntries(b *testing.B) {
	for _, cyclic := range []bool{false, true} {
		var cvs []*ChartVersion
		for i := range 1000 {
			ann := map[string]string{"artifacthub.io/license": "MIT", "category": "web", "k8s.io/min": "1.29", "v2beta1": "x"}
			if cyclic {
				for _, k := range cyclicKeys {
					ann[k] = k
				}
			}
			cvs = append(cvs, &ChartVersion{
				Metadata: &chart.Metadata{APIVersion: "v2", Name: "web", Version: fmt.Sprintf("1.%d.0", i), AppVersion: "1.10",
					Description: "A web server", Keywords: []string{"web", "http"}, Annotations: ann,
					Dependencies: []*chart.Dependency{{Name: "redis", Version: "^18", Repository: "oci://r.example.com",
						ImportValues: []interface{}{map[string]interface{}{"child": "a", "parent": "b"}}}}},
				URLs:   []string{fmt.Sprintf("charts/web-1.%d.0.tgz", i)},
				Digest: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			})
		}
		b.Run(fmt.Sprintf("cyclic=%v", cyclic), func(b *testing.B) {
			for b.Loop() {
				if _, errs := NewEntries(cvs); errs[0] != nil {
					b.Fatal(errs[0])
				}
			}
		})
	}
}

// sigsLess reports whether go-yaml, under sigs.k8s.io/yaml, writes a
// before b in a map of the two: the library's own answer. go-yaml itself
// is asked, as sigs.k8s.io/yaml's reader refuses some characters that its
// writer takes (DEL), and the answer is read from the value written last,
// as a key such as "<<" keeps the document from reading back.
func sigsLess(t testing.TB, a, b string) bool {
	t.Helper()
	out, err := goyaml.Marshal(map[string]int{a: 0, b: 1})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case bytes.HasSuffix(out, []byte(" 1\n")):
		return true
	case bytes.HasSuffix(out, []byte(" 0\n")):
		return false
	}
	t.Fatalf("unexpected layout %q", out)
	return false
}

// consistent reports whether the library's pairwise answers on keys are a
// total order (a tournament is one exactly when its scores are all
// different): then its output on them is the same on every run.
func consistent(t testing.TB, keys []string) bool {
	t.Helper()
	wins := make(map[string]int, len(keys))
	for i, a := range keys {
		for _, b := range keys[i+1:] {
			if sigsLess(t, a, b) {
				wins[a]++
			} else {
				wins[b]++
			}
		}
	}
	seen := map[int]bool{}
	for _, k := range keys {
		if seen[wins[k]] {
			return false
		}
		seen[wins[k]] = true
	}
	return true
}

// treeConsistent reports whether every map in a tree decoded from JSON
// has keys the library orders consistently.
func treeConsistent(t testing.TB, v any) bool {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			if !treeConsistent(t, x) {
				return false
			}
		}
	case map[string]any:
		if !consistent(t, slices.Collect(maps.Keys(v))) {
			return false
		}
		for _, x := range v {
			if !treeConsistent(t, x) {
				return false
			}
		}
	}
	return true
}

// stableSigs marshals v with sigs.k8s.io/yaml n times and returns its
// output, and whether it was the same every time.
func stableSigs(t testing.TB, v any, n int) ([]byte, bool, error) {
	first, err := sigsyaml.Marshal(v)
	if err != nil {
		return nil, false, err
	}
	for range n - 1 {
		again, _ := sigsyaml.Marshal(v)
		if !bytes.Equal(again, first) {
			return first, false, nil
		}
	}
	return first, true, nil
}

// orderFuzzKeys splits s into at most 10 distinct keys, as JSON carries
// them (invalid UTF-8 becomes U+FFFD).
func orderFuzzKeys(s string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, k := range strings.Split(s, ",") {
		k = strings.ToValidUTF8(k, "\ufffd")
		if !seen[k] && len(keys) < 10 {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// FuzzYAMLKeyOrder holds the key order to the library, on keys used both
// as annotation keys and as chart names: the rendering is the same every
// time; it is sigs.k8s.io/yaml's output whenever that is stable over 5
// marshals (unless the library's pairwise answers show it was stable by
// chance); and keys askedKeys leaves to go-yaml's sort are keys the
// library orders consistently, which is what makes the fast path right.
func FuzzYAMLKeyOrder(f *testing.F) {
	for _, s := range []string{
		"27B,2A,3", "k8s,k80,k8", "app1b,app12,app2", "chart000,chart001,chart010,chart1",
		"a0b,a00,a0,a-,a_", "1a,10,2,01,001,0a", "x١,x1,x2a,x22", "n12345678901234567890,n1a,n2",
		"Ünï9a,Ünï91,Ünï8", "v1beta1,v1,v10,v1alpha2,v2", "<<,27B,2A,3,=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys := orderFuzzKeys(s)
		if askedKeys(asSet(keys)) == nil && !consistent(t, keys) {
			t.Fatalf("askedKeys leaves %q to go-yaml's sort, which orders them inconsistently", keys)
		}
		ann := map[string]string{}
		file := New(time.Unix(1700000000, 0).UTC())
		for i, k := range keys {
			ann[k] = fmt.Sprint(i)
		}
		for _, k := range keys {
			file.Entries[k] = ChartVersions{{Metadata: &chart.Metadata{Name: k, Version: "1.0.0", Annotations: ann}}}
		}
		entries, err := file.Fragments()
		if errors.Is(err, ErrUnrenderableKey) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var first []byte
		for i := range 2 {
			var buf bytes.Buffer
			if err := RenderYAML(&buf, file.Header(), entries); err != nil {
				if errors.Is(err, ErrUnrenderableName) {
					return
				}
				t.Fatal(err)
			}
			if i == 0 {
				first = buf.Bytes()
			} else if !bytes.Equal(first, buf.Bytes()) {
				t.Fatalf("two renderings differ:\n%s\n---\n%s", first, buf.Bytes())
			}
		}
		want, stable, err := stableSigs(t, file, 5)
		if err != nil {
			return // characters the whole-file marshal cannot carry; FuzzRender covers them
		}
		if !stable && consistent(t, keys) {
			t.Fatalf("sigs.k8s.io/yaml is not stable on %q, which it orders consistently", keys)
		}
		if stable && !bytes.Equal(want, first) && consistent(t, keys) {
			t.Fatalf("RenderYAML differs from sigs.k8s.io/yaml on %q:\n%s\n---\n%s", keys, want, first)
		}
	})
}

// TestYAMLKeyOrderRandomSets runs FuzzYAMLKeyOrder's checks on random
// small sets of keys over the runes that matter to the comparator (ASCII
// and other digits, letters, other runes), where bad cases are dense.
func TestYAMLKeyOrderRandomSets(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 5))
	runes := []rune("0012789aAbZ-_.é٣")
	var checked, asked, inconsistent int
	for range 1500 {
		var keys []string
		seen := map[string]bool{}
		for range 2 + r.IntN(8) {
			var k []rune
			for range 1 + r.IntN(5) {
				k = append(k, runes[r.IntN(len(runes))])
			}
			if !seen[string(k)] {
				seen[string(k)] = true
				keys = append(keys, string(k))
			}
		}
		ok := consistent(t, keys)
		if askedKeys(asSet(keys)) != nil {
			asked++
		} else if !ok {
			t.Fatalf("askedKeys leaves %q to go-yaml's sort, which orders them inconsistently", keys)
		}
		if !ok {
			inconsistent++
		}
		m := map[string]int{}
		for i, k := range keys {
			m[k] = i
		}
		got, err := marshalYAML(m)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := marshalYAML(m); !bytes.Equal(again, got) {
			t.Fatalf("%q: two renderings differ:\n%s\n---\n%s", keys, got, again)
		}
		if ok {
			checked++
			if want, _ := sigsyaml.Marshal(m); !bytes.Equal(want, got) {
				t.Fatalf("%q: differs from sigs.k8s.io/yaml:\n%s\n---\n%s", keys, want, got)
			}
		}
	}
	t.Logf("%d key sets ordered consistently by go-yaml, all its order; %d not; %d took the asking path", checked, inconsistent, asked)
	if inconsistent == 0 || checked == 0 {
		t.Error("the random sets do not exercise both cases")
	}
}

func asSet(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
