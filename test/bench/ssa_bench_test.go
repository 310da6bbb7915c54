package bench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// BenchmarkServerSideVersusHelm4 installs and upgrades the 200-resource
// chart by server-side apply, ours (--server-side, then auto) against Helm
// 4.3 (its defaults), counting API requests through a proxy. Ours checks
// every object before applying anything (duplicate keys from the schema,
// conflicts by dry run where another manager owns a field); this measures
// what that costs when nobody else touched the objects.
func BenchmarkServerSideVersusHelm4(b *testing.B) {
	bc := startBenchCluster(b, false)
	tmp, ours, cs, proxy, kc := bc.tmp, bc.ours, bc.cs, bc.proxy, bc.kubeconfig
	chart := bigChart(b, tmp, 200)
	clients := []struct {
		name, bin string
		install   []string
	}{
		{"ours", ours, []string{"--server-side"}},
		{"helm 4.3", peers.Path(b, "helm4"), nil},
	}
	type m struct {
		wall time.Duration
		reqs int
	}
	res := map[string][2]m{}
	run := func(bin string, args ...string) m {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(peers.Env(filepath.Join(tmp, "home")), "KUBECONFIG="+kc)
		before := proxy.Count()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
		return m{time.Since(start), proxy.Count() - before}
	}
	for i := 0; i < b.N; i++ {
		for round := range 2 { // round 0 warms the apiserver and the page cache
			for j, cl := range clients {
				ns := fmt.Sprintf("ssa-%d-%d-%d", i, round, j)
				inst := run(cl.bin, append([]string{"install", "big", chart, "-n", ns, "--create-namespace"}, cl.install...)...)
				up := run(cl.bin, "upgrade", "big", chart, "-n", ns, "--set", "gen=2")
				checkUpgraded(b, cs, ns, 200)
				if round == 1 {
					res[cl.name] = [2]m{inst, up}
				}
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-10s %-8s %10s %9s %12s\n", "client", "step", "wall", "requests", "helm4/x")
	for _, cl := range clients {
		for k, step := range []string{"install", "upgrade"} {
			r := res[cl.name][k]
			fmt.Fprintf(&sb, "%-10s %-8s %10s %9d %11.2fx\n", cl.name, step, r.wall.Round(time.Millisecond), r.reqs, float64(res["helm 4.3"][k].wall)/float64(r.wall))
		}
	}
	b.Log(sb.String())
	for k, step := range []string{"install", "upgrade"} {
		b.ReportMetric(float64(res["helm 4.3"][k].wall)/float64(res["ours"][k].wall), step+"-speedup-vs-helm4")
		b.ReportMetric(float64(res["ours"][k].reqs), step+"-requests-ours")
		b.ReportMetric(float64(res["helm 4.3"][k].reqs), step+"-requests-helm4")
	}
}
