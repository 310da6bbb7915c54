package releases

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// TestInstallDependencyUpdateMatchesHelm3: install and upgrade
// --dependency-update fetch the dependencies charts/ lacks before
// installing, printing what Helm 3.22 prints; without it the missing
// dependency fails with Helm's advice.
func TestInstallDependencyUpdateMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	ns := cluster.Namespace(t)
	sub := writeChart(t, "sub", nil)
	same, total := 0, 0
	for _, args := range [][]string{
		{"install", "REL", "PAR", "-n", ns},
		{"install", "REL", "PAR", "-n", ns, "--dependency-update"},
		{"upgrade", "REL", "PAR", "-n", ns, "--dependency-update"},
	} {
		total++
		var got [2]result
		for i, c := range []*client{helm3, ours} {
			par := filepath.Join(t.TempDir(), "par")
			if err := os.MkdirAll(filepath.Join(par, "templates"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(filepath.Join(par, "Chart.yaml"), "apiVersion: v2\nname: par\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://"+sub+"\n"); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(filepath.Join(par, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-par\n"); err != nil {
				t.Fatal(err)
			}
			rel := "dep" + c.name
			full := make([]string, len(args))
			for k, a := range args {
				full[k] = strings.NewReplacer("REL", rel, "PAR", par).Replace(a)
			}
			r := c.run(t, full...)
			r.stdout = lastDeployed.ReplaceAllString(strings.ReplaceAll(r.stdout, rel, "REL"), "LAST DEPLOYED: X")
			r.stderr = strings.ReplaceAll(r.stderr, rel, "REL")
			got[i] = r
		}
		if strings.Contains(strings.Join(args, " "), "--dependency-update") && (got[1].code != 0 || !strings.Contains(got[1].stdout, "STATUS: deployed") || !strings.Contains(got[1].stdout, "Saving 1 charts")) {
			t.Errorf("%s did not fetch and deploy: %+v", strings.Join(args, " "), got[1])
		}
		if got[0] != got[1] {
			t.Errorf("%s:\nhelm 3.22 %+v\nours %+v", strings.Join(args, " "), got[0], got[1])
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, total)
}
