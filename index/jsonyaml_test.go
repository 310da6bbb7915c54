package index

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"
)

// jsonToYAMLSeeds are JSON documents of the shapes an index entry takes,
// and of what import-values may hold: numbers of every YAML type, nesting,
// empty collections, strings YAML would read as something else if plain.
var jsonToYAMLSeeds = []string{
	`{"entries":{"x":[{"apiVersion":"v2","name":"a","version":"1.0.0","urls":["charts/a-1.0.0.tgz"],"created":"2026-01-02T03:04:05Z"}]}}`,
	`{"import-values":[1,-2,3.5,1e21,12345678901234567890,0.1,-0,1E-7,{"child":"a","parent":2}]}`,
	`{"b":true,"n":null,"e":[],"o":{},"s":"yes","t":"1.0","u":"~","v":"0x1F","w":"2024-01-01","k":"a: b","l":"- x"}`,
	`{"annotations":{"z":"1","a":"2","10":"x","9":"y","a10":"","a9":" lead"}}`,
	`{"annotations":{"27B":"1","2A":"2","3":"3"},"v":{"v1beta1":1,"v1":2,"v10":3,"v1alpha2":4,"v2":5,"\ufeff":6}}`,
	`{"description":"\u00e9\u2028\u2029\u0085\u007f\u00a0\ud83d\ude00 emoji \u003c\u003e\u0026","long":"` + longWords + `"}`,
	`{"quote":"it's \"quoted\" \\ back","tab":"a\tb","nl":"a\nb\n","cr":"a\rb"}`,
	`"top-level string"`,
	`[1,"2",[3]]`,
	`42`,
}

const longWords = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud"

// FuzzJSONToYAML holds jsonToYAML to sigs.k8s.io/yaml's JSONToYAML on JSON
// as marshalYAML hands it over (json.Marshal's output, escapeUnreadable
// applied): the same bytes, or both failing.
func FuzzJSONToYAML(f *testing.F) {
	for _, s := range jsonToYAMLSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v any
		if json.Unmarshal(in, &v) != nil {
			return
		}
		j, err := json.Marshal(v)
		if err != nil {
			return
		}
		j = escapeUnreadable(j)
		want, wantErr := sigsyaml.JSONToYAML(j)
		got, err := jsonToYAML(j)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("jsonToYAML(%s): error %v, JSONToYAML's %v", j, err, wantErr)
		}
		// go-yaml's key order is not a consistent order on some keys
		// mixing digits and letters ("27B", "2A", "3"), and then
		// JSONToYAML's output changes from run to run; jsonToYAML's must
		// not, and must be JSONToYAML's wherever that is stable.
		if again, _ := jsonToYAML(j); string(again) != string(got) {
			t.Fatalf("jsonToYAML(%s) differs from one run to the next:\n%s\n---\n%s", j, got, again)
		}
		for range 4 {
			if again, _ := sigsyaml.JSONToYAML(j); string(again) != string(want) {
				return // unstable: any deterministic answer will do
			}
		}
		if string(got) != string(want) {
			var tree any
			if json.Unmarshal(j, &tree) == nil && !treeConsistent(t, tree) {
				return // stable by chance, on keys it orders inconsistently
			}
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("jsonToYAML(%s) differs from JSONToYAML (-want +got):\n%s", j, diff)
		}
	})
}

// TestJSONToYAMLKeepsNumberTypes: numbers go through go-yaml, so an int
// stays an int and a float keeps YAML's spelling, as in JSONToYAML.
func TestJSONToYAMLKeepsNumberTypes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, "a: 1\n"},
		{`{"a":1.5}`, "a: 1.5\n"},
		{`{"a":1e+21}`, "a: 1e+21\n"},
		{`{"a":12345678901234567890}`, "a: 12345678901234567890\n"},
		{`{"a":"1"}`, "a: \"1\"\n"},
	}
	for _, tt := range tests {
		got, err := jsonToYAML([]byte(tt.in))
		if err != nil {
			t.Fatalf("jsonToYAML(%s): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("jsonToYAML(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
