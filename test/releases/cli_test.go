package releases

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
)

var lastDeployed = regexp.MustCompile(`(?m)^LAST DEPLOYED: .*$`)

// --dry-run (client and server) prints what Helm prints and changes nothing.
func TestDryRunMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", map[string]string{"templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pw\nstringData:\n  pw: hunter2\n"})
	ns := cluster.Namespace(t)
	for _, mode := range [][]string{{"--dry-run"}, {"--dry-run=client"}, {"--dry-run=server"}, {"--dry-run", "--hide-secret"}} {
		args := append([]string{"install", "web", chart, "-n", ns}, mode...)
		got, want := ours.must(t, args...), helm3.must(t, args...)
		got, want = lastDeployed.ReplaceAllString(got, "LAST DEPLOYED: X"), lastDeployed.ReplaceAllString(want, "LAST DEPLOYED: X")
		if got != want || !strings.Contains(got, "STATUS: pending-install") {
			t.Errorf("install %s:\nours:\n%s\nhelm 3.22:\n%s", mode, got, want)
		}
	}
	for _, args := range [][]string{{"install", "web", chart, "-n", ns, "--hide-secret"}} {
		got, want := ours.run(t, args...), helm3.run(t, args...)
		if got.code != want.code || got.stderr != want.stderr {
			t.Errorf("%v: ours %d %q, helm 3.22 %d %q", args, got.code, got.stderr, want.code, want.stderr)
		}
	}
	s, err := cluster.Clientset(t).CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil || len(s.Items) != 0 {
		t.Errorf("a dry run stored %d releases (%v)", len(s.Items), err)
	}
	if _, err := cluster.Clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
		t.Error("a dry run created the deployment")
	}
}

// --generate-name, --labels and --description reach the stored release as
// Helm stores them.
func TestInstallMetadataFlags(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	out := ours.must(t, "install", chart, "--generate-name", "-n", ns, "--labels", "team=a,tier=web", "--description", "first")
	name := strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "NAME: ")
	if !regexp.MustCompile(`^web-\d+$`).MatchString(name) {
		t.Fatalf("generated name %q", name)
	}
	s, err := cluster.Clientset(t).CoreV1().Secrets(ns).Get(context.Background(), release.Key(name, 1), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels["team"] != "a" || s.Labels["tier"] != "web" {
		t.Errorf("secret labels %v", s.Labels)
	}
	if got := helm3.must(t, "list", "-n", ns, "-l", "team=a", "-q"); got != name+"\n" {
		t.Errorf("helm 3 list -l team=a: %q", got)
	}
	if got := helm3.must(t, "history", name, "-n", ns, "-o", "json"); !strings.Contains(got, `"description":"first"`) {
		t.Errorf("helm 3 history: %s", got)
	}
	// --labels on upgrade merge into the old ones; "null" drops one.
	ours.must(t, "upgrade", name, chart, "-n", ns, "--labels", "tier=null,env=prod")
	if got := ours.must(t, "list", "-n", ns, "-l", "team=a,env=prod,!tier", "-q"); got != name+"\n" {
		t.Errorf("labels after upgrade: list gave %q", got)
	}
}

// The chart may come from a .tgz, a URL or a repository; the cluster from
// KUBECONFIG, --kubeconfig, --kube-context or the --kube-* flags.
func TestChartSourcesAndKubeFlags(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	dir := t.TempDir()
	helm3.must(t, "package", chart, "-d", dir)
	tgz := filepath.Join(dir, "web-0.1.0.tgz")
	helm3.must(t, "repo", "index", dir)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	ns := cluster.Namespace(t)
	ours.must(t, "install", "from-tgz", tgz, "-n", ns)
	ours.must(t, "install", "from-url", srv.URL+"/web-0.1.0.tgz", "-n", ns)
	ours.must(t, "repo", "add", "local", srv.URL)
	ours.must(t, "install", "from-repo", "local/web", "--version", "0.1.0", "-n", ns)
	ours.must(t, "install", "from-repo-url", "web", "--repo", srv.URL, "-n", ns)

	// Without KUBECONFIG: the flags alone must find the cluster.
	cfg := cluster.RESTConfig(t)
	noKC := &client{"ours", ours.bin, withoutKubeconfig(ours.env)}
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, cfg.CAData, 0o600); err != nil {
		t.Fatal(err)
	}
	got := noKC.must(t, "list", "-n", ns, "-q", "--kube-apiserver", cfg.Host, "--kube-ca-file", ca, "--kube-token", cfg.BearerToken)
	want := "from-repo\nfrom-repo-url\nfrom-tgz\nfrom-url\n"
	if got != want {
		t.Errorf("list with --kube-* flags: %q, want %q", got, want)
	}
	if got := noKC.must(t, "list", "-n", ns, "-q", "--kubeconfig", cluster.Kubeconfig(t)); got != want {
		t.Errorf("list --kubeconfig: %q", got)
	}
	// A second context whose namespace is ns: -n is not needed.
	kc, err := clientcmd.LoadFromFile(cluster.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	c := kc.Contexts[kc.CurrentContext].DeepCopy()
	c.Namespace = ns
	kc.Contexts["other"] = c
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	if got := noKC.must(t, "list", "-q", "--kubeconfig", p, "--kube-context", "other"); got != want {
		t.Errorf("list --kube-context other: %q", got)
	}
	// A wrong token is the apiserver's refusal, not an empty list.
	r := noKC.run(t, "list", "-n", ns, "--kube-apiserver", cfg.Host, "--kube-ca-file", ca, "--kube-token", "wrong")
	if r.code == 0 || !strings.Contains(r.stderr, "Unauthorized") {
		t.Errorf("list with a wrong token: exit %d %q", r.code, r.stderr)
	}
}

func withoutKubeconfig(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "KUBECONFIG=") {
			out = append(out, e)
		}
	}
	return out
}

// upgrade --install installs a missing release, and one uninstalled with
// --keep-history (replacing it), as Helm does; both agree on the result.
func TestUpgradeInstall(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	for _, c := range []*client{ours, helm3} {
		name := "ui-" + c.name
		out := c.must(t, "upgrade", "--install", name, chart, "-n", ns)
		if !strings.HasPrefix(out, "Release \""+name+"\" does not exist. Installing it now.\nNAME: "+name+"\n") {
			t.Errorf("%s upgrade --install: %q", c.name, out)
		}
		c.must(t, "uninstall", name, "-n", ns, "--keep-history")
		c.must(t, "upgrade", "--install", name, chart, "-n", ns)
	}
	for _, c := range []*client{ours, helm3} {
		if diff := cmp.Diff(history(t, helm3, ns, "ui-helm3"), history(t, c, ns, "ui-ours")); diff != "" {
			t.Errorf("history of ours vs helm 3's (read by %s) (-helm +ours):\n%s", c.name, diff)
		}
	}
}

// A ServiceAccount allowed in one namespace is refused elsewhere with the
// apiserver's "forbidden", in the words Helm 3.22 uses.
func TestForbiddenLikeHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	ctx := context.Background()
	mine, theirs := cluster.Namespace(t), cluster.Namespace(t)
	cs := cluster.Clientset(t)
	if _, err := cs.CoreV1().ServiceAccounts(mine).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(mine).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"", "apps"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(mine).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "ci"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ci", Namespace: mine}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := cs.CoreV1().ServiceAccounts(mine).CreateToken(ctx, "ci", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := cluster.KubeconfigWithToken(t, t.TempDir(), tok.Status.Token)
	chart := writeChart(t, "web", nil)
	for _, c := range []*client{ours, helm3} {
		cc := &client{c.name, c.bin, append(withoutKubeconfig(c.env), "KUBECONFIG="+kc)}
		cc.must(t, "install", "ok-"+c.name, chart, "-n", mine)
	}
	for _, args := range [][]string{
		{"install", "web", chart, "-n", theirs}, {"list", "-n", theirs}, {"list", "-A"}, {"status", "x", "-n", theirs},
	} {
		var res [2]result
		for i, c := range []*client{ours, helm3} {
			cc := &client{c.name, c.bin, append(withoutKubeconfig(c.env), "KUBECONFIG="+kc)}
			res[i] = cc.run(t, args...)
		}
		if res[0].code != res[1].code || res[0].stderr != res[1].stderr || res[1].code == 0 || !strings.Contains(res[1].stderr, "forbidden") {
			t.Errorf("%v:\nours (exit %d): %s\nhelm 3.22 (exit %d): %s", args, res[0].code, res[0].stderr, res[1].code, res[1].stderr)
		}
	}
	if l, err := cs.AppsV1().Deployments(theirs).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("deployments created where forbidden: %v %v", l, err)
	}
}

// Charts the cluster refuses fail with Helm 3.22's words, and leave a
// failed release behind as Helm does.
func TestBadChartsLikeHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	ns := cluster.Namespace(t)
	for name, tpl := range map[string]string{
		"nokind": "apiVersion: nope.example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
		"badcm":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-{{ .Release.Name }}\ndata:\n  a: [1]\n",
	} {
		chart := writeChart(t, name, map[string]string{"templates/bad.yaml": tpl})
		var res [2]result
		for i, c := range []*client{ours, helm3} {
			res[i] = c.run(t, "install", name+"-"+c.name, chart, "-n", ns)
			res[i].stderr = strings.ReplaceAll(res[i].stderr, name+"-"+c.name, "NAME")
		}
		if res[0] != res[1] || res[1].code == 0 {
			t.Errorf("%s:\nours (exit %d): %q\nhelm 3.22 (exit %d): %q", name, res[0].code, res[0].stderr, res[1].code, res[1].stderr)
		}
	}
	// What each left behind, as both list it.
	for _, c := range []*client{ours, helm3} {
		if got, want := c.must(t, "list", "-n", ns, "-a", "-q"), "badcm-helm3\nbadcm-ours\n"; got != want {
			t.Errorf("%s list -a: %q, want %q", c.name, got, want)
		}
	}
}
