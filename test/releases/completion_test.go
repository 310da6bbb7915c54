package releases

import (
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// TestReleaseCompletionMatchesHelm3: `helm __complete` offers the release
// names of the namespace, read from the release store, with Helm's
// description (chart-version -> status), as real Helm 3.22 does.
func TestReleaseCompletionMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	ns := cluster.Namespace(t)
	chart := writeChart(t, "web", nil)
	helm3.must(t, "install", "one", chart, "-n", ns)
	ours.must(t, "install", "two", chart, "-n", ns)
	ours.must(t, "uninstall", "two", "-n", ns, "--keep-history")
	cases := [][]string{
		{"status", ""},
		{"uninstall", "one", ""},
		{"upgrade", ""},
		{"history", ""},
		{"rollback", ""},
		{"get", "values", ""},
		{"get", "all", "one", ""},
		{"rollback", "one", ""},
		{"rollback", "two", ""},
		{"rollback", "one", "1", ""},
		{"upgrade", "one", chart, ""},
	}
	same := 0
	for _, args := range cases {
		full := append([]string{"__complete"}, args...)
		full = append(full[:1], append([]string{"-n", ns}, full[1:]...)...)
		got, want := ours.run(t, full...), helm3.run(t, full...)
		if got != want {
			t.Errorf("helm %s:\nours (%d):\n%s%s\nhelm 3.22 (%d):\n%s%s", strings.Join(full, " "), got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}
