package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDependencyVerifyMatchesHelm: `dependency update|build --verify`
// verifies every downloaded dependency against its .prov and the keyring,
// and fails, as Helm does and with Helm's output, when a dependency is
// unsigned or signed by a key the keyring lacks; charts/ ends up as
// Helm leaves it.
func TestDependencyVerifyMatchesHelm(t *testing.T) {
	h := newHarness(t)
	sec, pub := writeKeyrings(t, h.dir)
	other := filepath.Join(h.dir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	_, otherPub := writeKeyrings(t, other)

	repoDir := filepath.Join(h.dir, "repo")
	for _, name := range []string{"signed", "plain"} {
		src := filepath.Join(h.dir, "src", name)
		writeFiles(t, src, map[string]string{
			"Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n",
		})
		args := []string{"package", src, "-d", repoDir}
		if name == "signed" {
			args = append(args, "--sign", "--key", "Chart Signer", "--keyring", sec)
		}
		h.must(h.helm(args...))
	}
	h.must(h.helm("repo", "index", repoDir))
	srv := fileServer(t, repoDir)
	h.must(h.ours("repo", "add", "r", srv.URL))

	parent := func(dep string) string {
		return "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: " + dep + "\n  version: 0.1.0\n  repository: " + srv.URL + "\n"
	}
	cases := []struct {
		name, dep, keyring string
		verb               []string
	}{
		{"signed, right key", "signed", pub, []string{"dependency", "update"}},
		{"signed, wrong key", "signed", otherPub, []string{"dependency", "update"}},
		{"unsigned", "plain", pub, []string{"dependency", "update"}},
		{"build signed, right key", "signed", pub, []string{"dependency", "build"}},
		{"build signed, wrong key", "signed", otherPub, []string{"dependency", "build"}},
		{"build unsigned", "plain", pub, []string{"dependency", "build"}},
		{"unsigned, no --verify", "plain", "", []string{"dependency", "update"}},
	}
	same := 0
	for _, tt := range cases {
		var got [2]string
		for i, run := range []func(...string) result{h.helm, h.ours} {
			dir := filepath.Join(h.dir, "charts", strings.ReplaceAll(tt.name, " ", "_"), []string{"helm", "ours"}[i], "app")
			writeFiles(t, dir, map[string]string{"Chart.yaml": parent(tt.dep)})
			if tt.verb[1] == "build" {
				// build reads Chart.lock: make it without verification.
				h.must(h.helm("dependency", "update", dir))
				os.RemoveAll(filepath.Join(dir, "charts"))
			}
			args := append(append([]string{}, tt.verb...), dir)
			if tt.keyring != "" {
				args = append(args, "--verify", "--keyring", tt.keyring)
			}
			r := run(args...)
			got[i] = tmpcharts.ReplaceAllString(strings.ReplaceAll(r.stdout+r.stderr, dir, "DIR"), "tmpcharts-N") + "exit " + itoa(r.code) + "\ncharts/: " + listDir(t, filepath.Join(dir, "charts"))
		}
		if got[0] != got[1] {
			t.Errorf("%s:\nhelm:\n%s\nours:\n%s", tt.name, got[0], got[1])
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}

// tmpcharts is the staging directory: Helm names it after its pid.
var tmpcharts = regexp.MustCompile(`tmpcharts-[0-9]+`)

func listDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "(none)"
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestVerifyErrorsWordedAsHelm: a signature by a key the keyring lacks and
// a tampered archive fail `helm verify` with Helm's words, which scripts
// match on.
func TestVerifyErrorsWordedAsHelm(t *testing.T) {
	h := newHarness(t)
	sec, pub := writeKeyrings(t, h.dir)
	other := filepath.Join(h.dir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	_, otherPub := writeKeyrings(t, other)
	src := filepath.Join(h.dir, "demo")
	h.must(h.helm("create", src))
	h.must(h.helm("package", src, "--sign", "--key", "Chart Signer", "--keyring", sec, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")
	tampered := filepath.Join(h.dir, "t", "demo-0.1.0.tgz")
	if err := os.MkdirAll(filepath.Dir(tampered), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(tgz)
	prov, _ := os.ReadFile(tgz + ".prov")
	b = append(b, 0) // still a gzip stream to file-type checks; another digest
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered+".prov", prov, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify", tgz, "--keyring", otherPub},
		{"verify", tampered, "--keyring", pub},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro.code != rh.code || ro.stderr != rh.stderr || rh.code == 0 {
			t.Errorf("helm %s:\nours %d %q\nhelm %d %q", strings.Join(args, " "), ro.code, ro.stderr, rh.code, rh.stderr)
		}
	}
}
