package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEnvNamespaceFromKubeconfig: HELM_NAMESPACE in `helm env` (and for
// plugins) is -n, else the kubeconfig context's namespace, as in Helm.
func TestEnvNamespaceFromKubeconfig(t *testing.T) {
	h := newHarness(t)
	kc := filepath.Join(h.dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: main, context: {cluster: c, user: u, namespace: kns}}
- {name: other, context: {cluster: c, user: u}}
current-context: main
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// client-go reads $KUBECONFIG from the process environment itself.
	t.Setenv("KUBECONFIG", kc)
	h.vars["KUBECONFIG"] = kc
	h.env = append(h.env, "KUBECONFIG="+kc)
	for _, args := range [][]string{
		{"env", "HELM_NAMESPACE"},
		{"env", "-n", "flag", "HELM_NAMESPACE"},
		{"env", "--kube-context", "other", "HELM_NAMESPACE"},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh || ro.code != 0 || ro.stdout == "" {
			t.Errorf("helm %v:\nours %+v\nhelm %+v", args, ro, rh)
		}
	}
	if r := h.must(h.ours("env", "HELM_NAMESPACE")); r.stdout != "kns\n" {
		t.Errorf("HELM_NAMESPACE = %q, want the kubeconfig's", r.stdout)
	}
}
