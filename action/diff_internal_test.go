package action

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/chartd/chartd/kube"
)

func u(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// changes drops equal pairs, orders changed, removed then added objects
// by key as helm-diff does, and redacts Secrets unless asked not to.
func TestChanges(t *testing.T) {
	cm := func(v string) string { return `{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"` + v + `"}}` }
	sec := func(d string) string { return `{"apiVersion":"v1","kind":"Secret","data":` + d + `}` }
	pairs := []struct{ key, kind, before, after string }{
		{"n, z, ConfigMap (v1)", "ConfigMap", "", cm("new")},
		{"n, same, ConfigMap (v1)", "ConfigMap", cm("a"), cm("a")},
		{"n, b, ConfigMap (v1)", "ConfigMap", cm("a"), cm("b")},
		{"n, gone, ConfigMap (v1)", "ConfigMap", cm("a"), ""},
		{"n, a, ConfigMap (v1)", "ConfigMap", cm("a"), cm("c")},
		// "aHVudGVyMg==" is hunter2, "czNjcmV0" s3cret.
		{"n, s, Secret (v1)", "Secret", sec(`{"p":"aHVudGVyMg==","u":"YWRtaW4="}`), sec(`{"p":"czNjcmV0","u":"YWRtaW4="}`)},
		{"n, s2, Secret (v1)", "Secret", sec(`{"p":"aHVudGVyMg=="}`), `{"apiVersion":"v1","kind":"Secret","stringData":{"p":"hunter2"}}`},
	}
	var in []pair
	for _, p := range pairs {
		// The key's name and kind name the object; its content is the pair's.
		var ns, name, kind string
		if _, err := fmt.Sscanf(strings.NewReplacer(",", " ").Replace(p.key), "%s %s %s", &ns, &name, &kind); err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{Object: map[string]any{}}
		obj.SetAPIVersion("v1")
		obj.SetNamespace(ns)
		obj.SetName(name)
		r := &kube.Resource{Object: obj, Mapping: &meta.RESTMapping{GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: kind}}}
		in = append(in, pair{r: r, before: u(t, p.before), after: u(t, p.after)})
	}
	type row struct{ Key, Type, Before, After string }
	// The parts scripts read (helm-diff's --output json) match the key.
	check := func(c Change) {
		if want := fmt.Sprintf("%s, %s, %s (%s)", c.Namespace, c.Name, c.Kind, c.API); c.Key != want {
			t.Errorf("key %q, parts say %q", c.Key, want)
		}
	}
	run := func(show bool) []row {
		d := &DiffOptions{ShowSecrets: show}
		got, err := d.changes(in)
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, c := range got {
			check(c)
			out = append(out, row{c.Key, c.Type, c.Before, c.After})
		}
		return out
	}
	y := func(v string) string { return "apiVersion: v1\ndata:\n  k: " + v + "\nkind: ConfigMap\n" }
	want := []row{
		{"n, a, ConfigMap (v1)", ChangeModify, y("a"), y("c")},
		{"n, b, ConfigMap (v1)", ChangeModify, y("a"), y("b")},
		{"n, s, Secret (v1)", ChangeModify,
			"apiVersion: v1\ndata:\n  p: '-------- # (7 bytes)'\n  u: 'REDACTED # (5 bytes)'\nkind: Secret\n",
			"apiVersion: v1\ndata:\n  p: '++++++++ # (6 bytes)'\n  u: 'REDACTED # (5 bytes)'\nkind: Secret\n"},
		{"n, gone, ConfigMap (v1)", ChangeRemove, y("a"), ""},
		{"n, z, ConfigMap (v1)", ChangeAdd, "", y("new")},
	}
	if diff := cmp.Diff(want, run(false)); diff != "" {
		t.Errorf("redacted (-want +got):\n%s", diff)
	}
	shown := run(true)
	if len(shown) != 6 || shown[3].Key != "n, s2, Secret (v1)" {
		t.Errorf("--show-secrets: stringData against data is a change once not redacted: %v", shown)
	}
}
