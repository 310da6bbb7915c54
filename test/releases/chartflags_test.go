package releases

import (
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// keyrings writes a new signing key as a secret and a public keyring.
func keyrings(t *testing.T, name string) (sec, pub string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", "signer@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sec, pub = filepath.Join(dir, "secring.gpg"), filepath.Join(dir, "pubring.gpg")
	for _, x := range []struct {
		path string
		save func(f *os.File) error
	}{{sec, func(f *os.File) error { return e.SerializePrivate(f, nil) }}, {pub, func(f *os.File) error { return e.Serialize(f) }}} {
		f, err := os.Create(x.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.save(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return sec, pub
}

// install --verify installs a signed chart whose signature the keyring
// trusts and refuses an unsigned one or one signed by another key, as
// Helm 3.22 does.
func TestInstallVerifyMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	sec, pub := keyrings(t, "Chart Signer")
	_, otherPub := keyrings(t, "Someone Else")
	chart := writeChart(t, "web", nil)
	signed, unsigned := t.TempDir(), t.TempDir()
	helm3.must(t, "package", chart, "--sign", "--key", "Chart Signer", "--keyring", sec, "-d", signed)
	helm3.must(t, "package", chart, "-d", unsigned)
	for _, tc := range []struct {
		name, tgz, keyring string
		ok                 bool
	}{
		{"signed", filepath.Join(signed, "web-0.1.0.tgz"), pub, true},
		{"unsigned", filepath.Join(unsigned, "web-0.1.0.tgz"), pub, false},
		// Helm's words: "openpgp: signature made by unknown entity".
		{"untrusted", filepath.Join(signed, "web-0.1.0.tgz"), otherPub, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]result{}
			for _, c := range []*client{ours, helm3} {
				r := c.run(t, "install", "web", tc.tgz, "--verify", "--keyring", tc.keyring, "-n", cluster.Namespace(t))
				r.stdout = normalizeTimes(r.stdout)
				got[c.name] = r
			}
			if diff := cmp.Diff(got["helm3"], got["ours"], cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-helm3 +ours):\n%s", diff)
			}
			if r := got["ours"]; (r.code == 0) != tc.ok || (tc.ok && !strings.Contains(r.stdout, "STATUS: deployed")) {
				t.Errorf("ours: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// writeParent writes a chart depending on a sibling chart by file://, as
// `helm create` users lay them out.
func writeParent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"child/Chart.yaml":           "apiVersion: v2\nname: child\nversion: 0.1.0\n",
		"child/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-child\ndata:\n  from: child\n",
		"parent/Chart.yaml":          "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n- name: child\n  version: 0.1.0\n  repository: file://../child\n",
		"parent/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-parent\ndata: {}\n",
		"parent/templates/NOTES.txt": "parent {{ .Release.Revision }}\n",
	}
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "parent")
}

// Without --dependency-update a chart missing a dependency is refused in
// Helm's words; with it the dependency is fetched into charts/ (Chart.lock
// written) and installed, printing what Helm 3.22 prints; upgrade takes
// the flag too.
func TestInstallDependencyUpdateMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	got := map[string][]result{}
	for _, c := range []*client{ours, helm3} {
		parent, ns := writeParent(t), cluster.Namespace(t)
		for _, args := range [][]string{
			{"install", "p", parent},
			{"install", "p", parent, "--dependency-update"},
			{"upgrade", "p", parent, "--dependency-update"},
		} {
			r := c.run(t, append(args, "-n", ns)...)
			r.stdout = normalizeTimes(r.stdout)
			got[c.name] = append(got[c.name], r)
		}
		if _, err := os.Stat(filepath.Join(parent, "charts", "child-0.1.0.tgz")); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if _, err := os.Stat(filepath.Join(parent, "Chart.lock")); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if o := strings.Join(objects(t, ns), "\n"); !strings.Contains(o, "ConfigMap/p-child map[from:child]") {
			t.Errorf("%s: the dependency was not installed: %s", c.name, o)
		}
	}
	if diff := cmp.Diff(got["helm3"], got["ours"], cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("(-helm3 +ours):\n%s", diff)
	}
	if r := got["ours"]; r[0].code != 1 || r[1].code != 0 || r[2].code != 0 {
		t.Errorf("ours: %+v", r)
	}
}
