package kube

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func resource(t *testing.T, s string) *Resource {
	t.Helper()
	u := obj(t, s)
	gvk := u.GroupVersionKind()
	return &Resource{Object: u, Mapping: &meta.RESTMapping{GroupVersionKind: gvk, Resource: schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version}}}
}

// Duplicate keys of keyed lists are found against the built-in types'
// schema, with the words the apiserver's apply uses; lists keyed by more
// than one field (ports by port and protocol) are not flagged for one
// shared field; kinds without a Go type are left alone.
func TestDuplicateKeys(t *testing.T) {
	dep := func(containers string) string {
		return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"n"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"spec":{"containers":[` + containers + `]}}}}`
	}
	for _, tc := range []struct {
		name string
		obj  string
		want []string
	}{
		{"no duplicates", dep(`{"name":"app","image":"x","env":[{"name":"A","value":"1"},{"name":"B"}]}`), nil},
		{"duplicate env", dep(`{"name":"app","image":"x","env":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}`),
			[]string{`Deployment n/d: .spec.template.spec.containers[name="app"].env: duplicate entries for key [name="A"]`}},
		{"duplicate env in two containers and a duplicate container", dep(`{"name":"a","env":[{"name":"X"},{"name":"X"}]},{"name":"b","env":[{"name":"Y"},{"name":"Y"}]}`),
			[]string{
				`Deployment n/d: .spec.template.spec.containers[name="a"].env: duplicate entries for key [name="X"]`,
				`Deployment n/d: .spec.template.spec.containers[name="b"].env: duplicate entries for key [name="Y"]`,
			}},
		{"same port, two protocols", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":53,"protocol":"TCP"},{"port":53,"protocol":"UDP"}]}}`, nil},
		{"same port and protocol", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":53,"protocol":"TCP","name":"a"},{"port":53,"protocol":"TCP","name":"b"}]}}`,
			[]string{`Service "s": .spec.ports: duplicate entries for key [port=53,protocol="TCP"]`}},
		{"custom resource", `{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"env":[{"name":"A"},{"name":"A"}]}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{}
			var got []string
			for _, p := range c.DuplicateKeys(ResourceList{resource(t, tc.obj)}) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Only an object where another manager owns a field the manifest sets is
// worth a dry run; a manager of other fields, or of status, cannot
// conflict.
func TestMayConflict(t *testing.T) {
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n"},"data":{"image":"x"}}`
	entry := func(manager, op, fields string) string {
		return `{"manager":"` + manager + `","operation":"` + op + `","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":` + fields + `}`
	}
	live := func(entries ...string) string {
		l := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n","managedFields":[`
		for i, e := range entries {
			if i > 0 {
				l += ","
			}
			l += e
		}
		return l + `]},"data":{"image":"x"}}`
	}
	data := `{"f:data":{"f:image":{}}}`
	label := `{"f:metadata":{"f:labels":{"f:team":{}}}}`
	for _, tc := range []struct {
		name      string
		obj, live string
		migrating bool
		want      bool
	}{
		{"only our apply", cm, live(entry("helm", "Apply", data)), false, false},
		{"another manager, other fields", cm, live(entry("helm", "Apply", data), entry("kubectl-label", "Update", label)), false, false},
		{"another manager, same field", cm, live(entry("helm", "Apply", data), entry("ops", "Update", data)), false, true},
		{"our client-side update, migrating", cm, live(entry("helm", "Update", data)), true, false},
		{"our client-side update, not migrating", cm, live(entry("helm", "Update", data)), false, true},
		{"custom resource, another manager", `{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"a":1}}`,
			`{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w","managedFields":[` + entry("ops", "Update", label) + `]}}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{}
			if got := c.mayConflict(resource(t, tc.obj), obj(t, tc.live), tc.migrating); got != tc.want {
				t.Errorf("mayConflict = %v, want %v", got, tc.want)
			}
		})
	}
}

// DuplicateKeys and mayConflict read whatever a chart renders and whatever
// managedFields the cluster holds; neither may panic, and an object the
// schema refuses for duplicates is always reported.
func FuzzDuplicateKeys(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","env":[{"name":"X"},{"name":"X"}]}]}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":"x"}]}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","managedFields":[{"manager":"m","fieldsV1":{"f:data":{}}}]},"data":{"a":1}}`,
		`{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"}}`,
	} {
		f.Add(s)
	}
	c := &Client{}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		r := &Resource{Object: &unstructured.Unstructured{Object: m}, Mapping: &meta.RESTMapping{}}
		for _, p := range c.DuplicateKeys(ResourceList{r}) {
			if !strings.Contains(p.Message, "duplicate entries") {
				t.Errorf("reported %q", p.Message)
			}
		}
		c.mayConflict(r, r.Object, false)
	})
}
