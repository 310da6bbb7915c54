package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHelm4ClientFlagsMatchHelm4: Helm 4's repo list --no-headers,
// --color/--colour and $HELM_COLOR are accepted as Helm 4.3 accepts them,
// with Helm 4.3's output (a bad --color fails in both, a bad $HELM_COLOR
// in neither), and help still reads as Helm 3.22's.
func TestHelm4ClientFlagsMatchHelm4(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"one", "two"} {
		// An empty index is enough for repo add.
		writeFiles(t, h.dir, map[string]string{"idx/" + n + "/index.yaml": "apiVersion: v1\nentries: {}\n"})
	}
	isrv := fileServer(t, filepath.Join(h.dir, "idx"))
	h.must(h.ours("repo", "add", "one", isrv.URL+"/one"))
	h.must(h.ours("repo", "add", "two", isrv.URL+"/two"))
	cases := []struct {
		env  []string
		args []string
	}{
		{nil, []string{"repo", "list", "--no-headers"}},
		{nil, []string{"repo", "list", "--no-headers", "-o", "json"}},
		{nil, []string{"repo", "list", "--color", "never"}},
		{nil, []string{"repo", "list", "--colour", "auto"}},
		{[]string{"HELM_COLOR=never"}, []string{"repo", "list", "--no-headers"}},
		{[]string{"HELM_COLOR=bogus"}, []string{"repo", "list", "--no-headers"}},
	}
	same := 0
	for _, tt := range cases {
		rh := h.peer("helm4", tt.env, tt.args...)
		for _, kv := range tt.env {
			k, v, _ := strings.Cut(kv, "=")
			h.vars[k] = v
		}
		ro := h.ours(tt.args...)
		for _, kv := range tt.env {
			k, _, _ := strings.Cut(kv, "=")
			delete(h.vars, k)
		}
		if ro != rh {
			t.Errorf("%v %s:\nours %+v\nhelm4 %+v", tt.env, strings.Join(tt.args, " "), ro, rh)
			continue
		}
		same++
	}
	// A bad --color: both fail (Helm 4 reports it as a log line).
	if ro, rh := h.ours("repo", "list", "--color", "bogus"), h.peer("helm4", nil, "repo", "list", "--color", "bogus"); ro.code != 1 || rh.code != 1 || !strings.Contains(rh.stderr, `invalid color mode \"bogus\"`) || !strings.Contains(ro.stderr, `invalid color mode "bogus"`) {
		t.Errorf("--color bogus: ours %+v helm4 %+v", ro, rh)
	} else {
		same++
	}
	t.Logf("%d of %d cases as Helm 4.3", same, len(cases)+1)
	// Help stays Helm 3's: repo list's, and the global flags.
	flags := func(help string) string { _, f, _ := strings.Cut(help, "\nFlags:\n"); return f }
	for _, args := range [][]string{{"repo", "list", "--help"}, {"--help"}} {
		if ro, rh := h.ours(args...), h.helm(args...); flags(ro.stdout) != flags(rh.stdout) || flags(ro.stdout) == "" {
			t.Errorf("help %v differs from Helm 3.22's:\nours:\n%s\nhelm:\n%s", args, ro.stdout, rh.stdout)
		}
	}
}
