package kube

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func obj(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// Built-in kinds get Helm 3's 3-way strategic merge patch; kinds without a
// Go type get a JSON merge patch from the old manifest to the new one.
func TestCreatePatch(t *testing.T) {
	dep := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":%s,"template":{"spec":{"containers":[%s]}}}}`
	app := `{"name":"app","image":"%s"}`
	sidecar := `{"name":"sidecar","image":"envoy"}`
	f := func(r, c string) string { return strings.Replace(strings.Replace(dep, "%s", r, 1), "%s", c, 1) }
	img := func(i string) string { return strings.Replace(app, "%s", i, 1) }
	for _, tc := range []struct {
		name                   string
		original, target, live string
		wantType               types.PatchType
		want                   string
	}{
		{
			name:     "scaled out of band, same manifest: replicas restored",
			original: f("3", img("a")), target: f("3", img("a")), live: f("0", img("a")),
			wantType: types.StrategicMergePatchType, want: `{"spec":{"replicas":3}}`,
		},
		{
			name:     "sidecar injected: only the image changes",
			original: f("1", img("a")), target: f("1", img("b")), live: f("1", img("a")+","+sidecar),
			wantType: types.StrategicMergePatchType,
			want:     `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"b","name":"app"}]}}}}`,
		},
		{
			name:     "unchanged: empty patch",
			original: f("1", img("a")), target: f("1", img("a")), live: f("1", img("a")),
			wantType: types.StrategicMergePatchType, want: `{}`,
		},
		{
			name:     "custom resource: 2-way merge patch, live ignored",
			original: `{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"a":1,"b":2}}`,
			target:   `{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"a":1}}`,
			live:     `{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"w"},"spec":{"a":9,"b":2}}`,
			wantType: types.MergePatchType, want: `{"spec":{"b":null}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, pt, err := CreatePatch(obj(t, tc.original), obj(t, tc.target), obj(t, tc.live))
			if err != nil {
				t.Fatal(err)
			}
			if pt != tc.wantType {
				t.Errorf("patch type %s, want %s", pt, tc.wantType)
			}
			var got, want any
			_ = json.Unmarshal(p, &got)
			_ = json.Unmarshal([]byte(tc.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("patch (-want +got):\n%s\n%s", diff, p)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	objs, err := decode("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n- {apiVersion: v1, kind: Service, metadata: {name: c}}\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if diff := cmp.Diff([]string{"ConfigMap/a", "Secret/b", "Service/c"}, got); diff != "" {
		t.Error(diff)
	}
	if _, err := decode("metadata: {name: x}\n"); err == nil {
		t.Error("a document without apiVersion and kind was accepted")
	}
}

// FuzzDecode: any manifest is objects or an error, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"---\n---\n", "kind: List\napiVersion: v1\nitems: [1]\n", "[1,2", "{\"apiVersion\":\"v1\",\"kind\":\"X\"}",
		"apiVersion: v1\nkind: List\nitems:\n- {kind: A}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		objs, err := decode(s)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o == nil {
				t.Fatal("nil object without error")
			}
		}
	})
}
