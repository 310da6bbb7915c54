package releases

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/release/driver"
)

// history returns "revision:status:description" of each revision, as the
// client's `history -o json` reports it.
func history(t *testing.T, c *client, ns, name string) []string {
	t.Helper()
	var h []struct {
		Revision    int    `json:"revision"`
		Status      string `json:"status"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "history", name, "-n", ns, "-o", "json")), &h); err != nil {
		t.Fatalf("%s history: %v", c.name, err)
	}
	var out []string
	for _, x := range h {
		out = append(out, strings.Join([]string{itoa(x.Revision), x.Status, x.Description}, ":"))
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func image(t *testing.T, ns, name string) string {
	t.Helper()
	cm, err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).Get(context.Background(), name+"-cm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["image"]
}

// Each real Helm lists, upgrades, rolls back and uninstalls what ours
// installed, and ours does the same to theirs.
func TestInterop(t *testing.T) {
	ours, helm3, helm4 := clients(t)
	chart := writeChart(t, "web", nil)
	for _, peer := range []*client{helm3, helm4} {
		for _, dir := range []struct{ first, second *client }{{ours, peer}, {peer, ours}} {
			t.Run(dir.first.name+"-then-"+dir.second.name, func(t *testing.T) {
				ns := cluster.Namespace(t)
				a, b := dir.first, dir.second
				a.must(t, "install", "web", chart, "-n", ns)
				if out := b.must(t, "list", "-n", ns, "-q"); out != "web\n" {
					t.Fatalf("%s list: %q", b.name, out)
				}
				b.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0")
				if got := image(t, ns, "web"); got != "nginx:2.0" {
					t.Errorf("after %s upgrade: image %q", b.name, got)
				}
				b.must(t, "rollback", "web", "1", "-n", ns)
				if got := image(t, ns, "web"); got != "nginx:1.0" {
					t.Errorf("after %s rollback: image %q", b.name, got)
				}
				want := []string{"1:superseded:Install complete", "2:superseded:Upgrade complete", "3:deployed:Rollback to 1"}
				for _, c := range []*client{a, b} {
					if diff := cmp.Diff(want, history(t, c, ns, "web")); diff != "" {
						t.Errorf("%s history (-want +got):\n%s", c.name, diff)
					}
				}
				a.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:3.0")
				b.must(t, "uninstall", "web", "-n", ns)
				if out := a.must(t, "list", "-n", ns, "-q"); out != "" {
					t.Errorf("%s list after %s uninstall: %q", a.name, b.name, out)
				}
			})
		}
	}
}

func storedRaw(t *testing.T, ns, name string, rev int) map[string]any {
	t.Helper()
	s, err := cluster.Clientset(t).CoreV1().Secrets(ns).Get(context.Background(), release.Key(name, rev), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := driver.Decode(string(s.Data["release"]))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Helm 4 records apply_method and rollback_revision and omits zero times;
// when ours writes the next revision (and rewrites Helm 4's as superseded)
// those fields are kept, and Helm 4 carries on with the release.
func TestHelm4FieldsKept(t *testing.T) {
	ours, _, helm4 := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	helm4.must(t, "install", "web", chart, "-n", ns)
	helm4.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:2.0")
	helm4.must(t, "rollback", "web", "1", "-n", ns)
	before := storedRaw(t, ns, "web", 3)
	info := before["info"].(map[string]any)
	if before["apply_method"] != "ssa" || info["rollback_revision"] != float64(1) {
		t.Fatalf("Helm 4's revision 3: apply_method %v, rollback_revision %v", before["apply_method"], info["rollback_revision"])
	}
	if _, ok := info["deleted"]; ok {
		t.Fatalf("Helm 4 wrote a zero deleted time: %v", info)
	}
	ours.must(t, "upgrade", "web", chart, "-n", ns, "--set", "image=nginx:3.0")
	after := storedRaw(t, ns, "web", 3)
	if after["info"].(map[string]any)["status"] != "superseded" {
		t.Fatalf("revision 3 not superseded: %v", after["info"])
	}
	// Everything but the status (and its label) is as Helm 4 wrote it.
	after["info"].(map[string]any)["status"] = before["info"].(map[string]any)["status"]
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("Helm 4's revision changed when ours superseded it (-before +after):\n%s", diff)
	}
	next := storedRaw(t, ns, "web", 4)
	// --server-side=auto, the default, keeps Helm 4's server-side apply.
	if next["apply_method"] != "ssa" {
		t.Errorf("our revision records apply_method %v, want ssa", next["apply_method"])
	}
	helm4.must(t, "rollback", "web", "3", "-n", ns)
	if got := image(t, ns, "web"); got != "nginx:1.0" {
		t.Errorf("Helm 4 rollback over ours: image %q", got)
	}
	ours.must(t, "rollback", "web", "4", "-n", ns)
	if rb := storedRaw(t, ns, "web", 6); rb["info"].(map[string]any)["rollback_revision"] != float64(4) {
		t.Errorf("our rollback records rollback_revision %v", rb["info"])
	}
	helm4.must(t, "uninstall", "web", "-n", ns)
}

// Ours prints what Helm 3.22 prints for the same stored releases: both
// read the same Secrets, so the outputs must be identical.
func TestOutputsMatchHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	ns := cluster.Namespace(t)
	ours.must(t, "install", "mine", chart, "-n", ns, "--set", "image=nginx:1.1")
	helm3.must(t, "install", "theirs", chart, "-n", ns, "-f", writeValues(t, "replicas: 3\nnested: {a: [1, 2]}\n"))
	ours.must(t, "upgrade", "mine", chart, "-n", ns, "--reuse-values", "--set", "replicas=1")
	helm3.must(t, "upgrade", "theirs", chart, "-n", ns, "--reuse-values", "--set", "replicas=1")
	// `list -d` is left out: Helm orders releases deployed in the same
	// second at random (a map, then an unstable sort by Unix seconds).
	// A failed upgrade, to list by status.
	if r := ours.run(t, "upgrade", "mine", chart, "-n", ns, "--set", "replicas=abc"); r.code == 0 {
		t.Fatal("an upgrade to replicas: abc succeeded")
	}
	ours.must(t, "install", "kept", chart, "-n", ns)
	ours.must(t, "uninstall", "kept", "-n", ns, "--keep-history")
	cmds := [][]string{
		{"list"}, {"list", "-o", "json"}, {"list", "-o", "yaml"}, {"list", "-a"}, {"list", "--superseded"},
		{"list", "--failed"}, {"list", "--uninstalled"}, {"list", "--deployed"}, {"list", "--pending"},
		{"list", "--uninstalled", "--failed"}, {"list", "-m", "1", "--offset", "1"}, {"list", "--no-headers"},
		{"list", "--time-format", "2006-01-02"}, {"history", "kept"}, {"status", "kept"},
		{"list", "-q"}, {"list", "--filter", "^m"}, {"list", "-r"},
	}
	for _, name := range []string{"mine", "theirs"} {
		cmds = append(cmds,
			[]string{"status", name}, []string{"status", name, "--revision", "1"}, []string{"status", name, "--show-desc"},
			[]string{"history", name}, []string{"history", name, "-o", "json"}, []string{"history", name, "-o", "yaml"},
			[]string{"history", name, "--max", "1"},
			[]string{"get", "values", name}, []string{"get", "values", name, "-a"}, []string{"get", "values", name, "-o", "json"},
			[]string{"get", "manifest", name}, []string{"get", "notes", name}, []string{"get", "hooks", name},
			[]string{"get", "metadata", name}, []string{"get", "metadata", name, "-o", "json"}, []string{"get", "all", name},
		)
	}
	cmds = append(cmds, []string{"status", "theirs", "-o", "json"})
	for _, args := range cmds {
		args = append(args, "-n", ns)
		got, want := ours.run(t, args...), helm3.run(t, args...)
		if want.code != 0 {
			t.Fatalf("helm %s: %s", strings.Join(args, " "), want.stderr)
		}
		if got != want {
			t.Errorf("helm %s:\nours (exit %d):\n%s%s\nhelm 3.22 (exit %d):\n%s%s", strings.Join(args, " "),
				got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
		}
	}
	// Errors, too.
	for _, args := range [][]string{
		{"status", "nope"}, {"history", "nope"}, {"uninstall", "nope"}, {"upgrade", "nope", chart},
		{"rollback", "mine", "9"}, {"install", "mine", chart}, {"get", "values", "nope"},
		{"install", "x", chart, "-n", cluster.UniqueName("missing")}, {"rollback", "nope"}, {"history", "mine", "--max", "x"},
		{"status", "mine", "--revision", "99"}, {"get", "manifest", "mine", "--revision", "99"},
	} {
		args = append(args, "-n", ns)
		if slices.Contains(args[:len(args)-2], "-n") {
			args = args[:len(args)-2] // the case names its own namespace
		}
		got, want := ours.run(t, args...), helm3.run(t, args...)
		if got.code != want.code || got.stderr != want.stderr {
			t.Errorf("helm %s:\nours (exit %d): %q\nhelm 3.22 (exit %d): %q", strings.Join(args, " "), got.code, got.stderr, want.code, want.stderr)
		}
	}
}

func writeValues(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/values.yaml"
	if err := writeFile(p, body); err != nil {
		t.Fatal(err)
	}
	return p
}
