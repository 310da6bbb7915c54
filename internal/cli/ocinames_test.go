package cli_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/ocitest"
)

// TestOCIPullNamesAndErrorsMatchHelm: a chart pulled by tag, by digest
// and by tag@digest is saved under the file name real Helm 3.22 gives it,
// and OCI failures scripts match on (unknown tag, wrong digest, a
// reference that does not parse, push of a non-chart) read as Helm's.
func TestOCIPullNamesAndErrorsMatchHelm(t *testing.T) {
	h := newHarness(t)
	host := ocitest.Start(t, "", "").Host
	src := filepath.Join(h.dir, "demo")
	h.must(h.helm("create", src))
	h.must(h.helm("package", src, "-d", h.dir))
	tgz := filepath.Join(h.dir, "demo-0.1.0.tgz")
	push := h.must(h.helm("push", tgz, "oci://"+host+"/c", "--plain-http"))
	digest := ""
	for _, l := range strings.Split(push.stdout+push.stderr, "\n") {
		if d, ok := strings.CutPrefix(l, "Digest: "); ok {
			digest = strings.TrimSpace(d)
		}
	}
	if digest == "" {
		t.Fatalf("no digest in push output %+v", push)
	}
	notChart := filepath.Join(h.dir, "notchart.tgz")
	if err := os.WriteFile(notChart, []byte("not a chart"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "oci://" + host + "/c/demo"
	bad := "sha256:" + strings.Repeat("0", 64)
	cases := [][]string{
		{"pull", ref, "--version", "0.1.0", "--plain-http"},
		{"pull", ref + ":0.1.0", "--plain-http"},
		{"pull", ref + "@" + digest, "--plain-http"},
		{"pull", ref + ":0.1.0@" + digest, "--plain-http"},
		{"pull", ref + ":9.9.9", "--plain-http"},
		{"pull", ref + "@" + bad, "--plain-http"},
		{"pull", ref + ":0.1.0@" + bad, "--plain-http"},
		{"pull", "oci://" + host + "/c/Bad Name", "--plain-http"},
		{"push", notChart, "oci://" + host + "/c", "--plain-http"},
		{"push", tgz, "oci://" + host + "/c/demo", "--plain-http"},
	}
	same := 0
	for i, args := range cases {
		var got [2]string
		for j, run := range []func(...string) result{h.helm, h.ours} {
			dir := filepath.Join(h.dir, "d", string(rune('a'+i)), []string{"helm", "ours"}[j])
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			full := args
			if args[0] == "pull" {
				full = append(append([]string{}, args...), "-d", dir)
			}
			r := run(full...)
			got[j] = "exit " + itoa(r.code) + "\n" + r.stdout + r.stderr + "files: " + listFiles(t, dir)
		}
		if got[0] != got[1] {
			t.Errorf("helm %s:\nhelm:\n%s\nours:\n%s", strings.Join(args, " "), got[0], got[1])
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}

func listFiles(t *testing.T, dir string) string {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}
