package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tidy drops what the server keeps for itself and Helm's bookkeeping
// annotations, and keeps what a chart or a user sets.
func TestTidy(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{
			name: "server fields and annotations",
			in: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n","uid":"u","resourceVersion":"9","generation":2,"creationTimestamp":"2026-01-01T00:00:00Z","managedFields":[{"manager":"helm"}],
				"annotations":{"meta.helm.sh/release-name":"r","meta.helm.sh/release-namespace":"n","team":"x"},"labels":{"app.kubernetes.io/managed-by":"Helm"}},"data":{"a":"b"},"status":{"x":1}}`,
			want: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n","annotations":{"team":"x"},"labels":{"app.kubernetes.io/managed-by":"Helm"}},"data":{"a":"b"}}`,
		},
		{
			name: "only bookkeeping annotations: none left",
			in:   `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"deployment.kubernetes.io/revision":"3"}}}`,
			want: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := obj(t, tc.in)
			got := Tidy(in)
			if diff := cmp.Diff(obj(t, tc.want).Object, got.Object); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if _, ok := in.Object["status"]; !ok && tc.name == "server fields and annotations" {
				t.Error("Tidy changed its argument")
			}
		})
	}
	if Tidy(nil) != nil {
		t.Error("Tidy(nil) is not nil")
	}
}

// Key names objects as helm-diff does.
func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"}}`: "default, web, Deployment (apps)",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n"}}`:               "n, c, ConfigMap (v1)",
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"}}`:   ", r, ClusterRole (rbac.authorization.k8s.io)",
	} {
		if got := Key(resource(t, in)); got != want {
			t.Errorf("Key(%s) = %q, want %q", in, got, want)
		}
	}
}
