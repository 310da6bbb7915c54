package lint_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/lint"
)

// TestCRDsMatchHelm4 compares the crds/ rule with real Helm 4.3's lint on
// the charts that have a crds/ directory: the same "[ERROR] crds/..."
// lines. (Helm 3 has no such rule, so the command keeps it off.)
func TestCRDsMatchHelm4(t *testing.T) {
	charts := []string{
		filepath.Join("testdata", "charts", "crds-bad"),
		filepath.Join("..", "internal", "render", "testdata", "charts", "crds"),
	}
	total := 0
	for _, dir := range charts {
		cmd := exec.Command(peers.Path(t, "helm4"), "lint", dir)
		cmd.Env = peers.Env(t.TempDir())
		var out bytes.Buffer
		cmd.Stdout = &out
		_ = cmd.Run() // a failing lint exits 1; the report is what counts
		var want []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "] crds/") {
				want = append(want, l)
			}
		}
		var got []string
		for _, m := range lint.Dir(context.Background(), dir, nil, lint.Options{CRDs: true}) {
			if strings.HasPrefix(m.Path, "crds/") {
				got = append(got, m.String())
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-helm4 +ours):\n%s", dir, diff)
		}
		total += len(want)
	}
	if total == 0 {
		t.Fatal("Helm 4 reported no crds/ message at all: the charts no longer exercise the rule")
	}
}
