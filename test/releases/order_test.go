package releases

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// kinds compresses the requests with method into the sequence of
// resources they touch (consecutive repeats merged), leaving out the
// release records.
func kinds(reqs []string, method string) []string {
	var out []string
	for _, r := range reqs {
		m, p, _ := strings.Cut(r, " ")
		if m != method || strings.Contains(p, "sh.helm.release.v1.") {
			continue
		}
		parts := strings.Split(strings.Trim(p, "/"), "/")
		// .../namespaces/<ns>/<resource>[/<name>]
		res := parts[len(parts)-1]
		if method == "DELETE" {
			res = parts[len(parts)-2] + "/" + path.Base(p)
		}
		if len(out) == 0 || out[len(out)-1] != res {
			out = append(out, res)
		}
	}
	return out
}

// Ours creates in Helm's kind order and deletes in Helm's uninstall order
// (not quite the reverse: Services go first), request for
// request in the same order as Helm 3.22, seen by a proxy in front of the
// apiserver.
func TestKindOrderMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	proxy := cluster.NewProxy(t, cluster.RESTConfig(t))
	kc := proxy.Kubeconfig(t, t.TempDir())
	chart := writeChart(t, "web", map[string]string{
		"templates/sa.yaml":   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-sa\n",
		"templates/sec.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-sec\n",
		"templates/svc.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-svc\nspec:\n  ports: [{port: 80}]\n",
		"templates/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {{ .Release.Name }}-r\nrules: []\n",
	})
	seq := map[string][2][]string{}
	for _, c := range []*client{ours, helm3} {
		ns := cluster.Namespace(t)
		cc := &client{c.name, c.bin, append(withoutKubeconfig(c.env), "KUBECONFIG="+kc)}
		before := proxy.Count()
		cc.must(t, "install", "web", chart, "-n", ns)
		install := kinds(proxy.Requests()[before:], "POST")
		before = proxy.Count()
		cc.must(t, "uninstall", "web", "-n", ns)
		uninstall := kinds(proxy.Requests()[before:], "DELETE")
		seq[c.name] = [2][]string{install, uninstall}
	}
	// The first "secrets" is the release record (a POST names no object).
	want := []string{"secrets", "serviceaccounts", "secrets", "configmaps", "roles", "services", "deployments"}
	if diff := cmp.Diff(want, seq["ours"][0]); diff != "" {
		t.Errorf("our install order (-want +got):\n%s", diff)
	}
	wantDel := []string{"services/web-svc", "deployments/web", "roles/web-r", "configmaps/web-cm", "secrets/web-sec", "serviceaccounts/web-sa"}
	if diff := cmp.Diff(wantDel, seq["ours"][1]); diff != "" {
		t.Errorf("our uninstall order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seq["helm3"], seq["ours"]); diff != "" {
		t.Errorf("order differs from Helm 3.22 (-helm +ours):\n%s", diff)
	}
}
