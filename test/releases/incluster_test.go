package releases

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// inPod runs c as in a pod: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT
// set, and the service account's token, CA and namespace at the fixed
// path client-go's rest.InClusterConfig reads. client-go offers no way to
// move that path, so the files are put there in a private mount namespace
// (unshare: a tmpfs over /run, seen by this process only); the machine's
// own /run is untouched. withToken false leaves the token out.
func inPod(t *testing.T, c *client, ns string, withToken bool, args ...string) result {
	t.Helper()
	cfg := cluster.RESTConfig(t)
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string][]byte{"token": []byte(cfg.BearerToken), "ca.crt": cfg.CAData, "namespace": []byte(ns)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !withToken {
		os.Remove(filepath.Join(dir, "token"))
	}
	const script = `set -e
mount -t tmpfs none /run
sa=/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa"
cp "$SA_FILES"/* "$sa"/
exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", c.bin}, args...)...)
	cmd.Env = append(withoutKubeconfig(c.env), "SA_FILES="+dir, "KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port())
	out, err := cmd.Output()
	r := result{stdout: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code, r.stderr = ee.ExitCode(), string(ee.Stderr)
	} else if err != nil {
		t.Fatalf("unshare (a private mount namespace is how this test puts the service account files in place): %v", err)
	}
	return r
}

// With no kubeconfig, the client uses the in-cluster configuration, as
// Helm does: the service account's token and CA, and its namespace when
// -n is not given. Without the token file it cannot connect.
func TestInClusterConfig(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	if r := inPod(t, ours, ns, true, "install", "ic", chart); r.code != 0 {
		t.Fatalf("install in a pod: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, c := range []*client{ours, helm3} {
		if r := inPod(t, c, ns, true, "list", "-q"); r.code != 0 || r.stdout != "ic\n" {
			t.Errorf("%s list in a pod: exit %d %q %s", c.name, r.code, r.stdout, r.stderr)
		}
	}
	if got := ours.must(t, "list", "-n", ns, "-q"); got != "ic\n" {
		t.Errorf("the in-cluster install is not in the service account's namespace: %q", got)
	}
	got, want := inPod(t, ours, ns, false, "list", "-q"), inPod(t, helm3, ns, false, "list", "-q")
	if got.code == 0 || want.code == 0 {
		t.Errorf("without a token: ours exit %d %q, helm 3.22 exit %d %q", got.code, got.stderr, want.code, want.stderr)
	}
	t.Logf("without a token: ours %q, helm 3.22 %q", got.stderr, want.stderr)
}
