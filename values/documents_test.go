package values

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestReadDocuments(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]interface{}
	}{
		{"one", "a: 1\n", map[string]interface{}{"a": float64(1)}},
		{"empty", "", map[string]interface{}{}},
		{"merged", "a: {b: 1}\nc: 1\n---\na: {d: 2}\nc: 2\n---\n", map[string]interface{}{"a": map[string]interface{}{"b": float64(1), "d": float64(2)}, "c": float64(2)}},
		{"null deletes nothing yet", "a: 1\n---\na: null\n", map[string]interface{}{"a": nil}},
		{"no final newline", "a: 1\n---\nb: 2", map[string]interface{}{"a": float64(1), "b": float64(2)}},
		{"comment document", "# only\n---\na: 1\n", map[string]interface{}{"a": float64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readDocuments([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := readDocuments([]byte("a: 1\n---\n- x\n")); err == nil {
		t.Error("a document that is a list was accepted")
	}
}

// FuzzReadDocuments: any input either fails or gives a map, and a single
// document reads as sigs.k8s.io/yaml (Helm 3) reads it.
func FuzzReadDocuments(f *testing.F) {
	for _, s := range []string{"", "a: 1", "a: 1\n---\nb: 2\n", "---\n---\n", "a: [1, {b: 2}]\n", "x: &a {y: *a}\n", "- 1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readDocuments([]byte(in))
		if err != nil {
			return
		}
		if got == nil {
			t.Fatal("nil map without error")
		}
		var one map[string]interface{}
		if yaml.Unmarshal([]byte(in), &one) == nil && len(one) > 0 && !containsSeparator(in) {
			if diff := cmp.Diff(one, got); diff != "" {
				t.Errorf("single document differs from yaml.Unmarshal (-yaml +ours):\n%s", diff)
			}
		}
	})
}

func containsSeparator(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i:i+3] == "---" || s[i:i+3] == "..." {
			return true
		}
	}
	return false
}
