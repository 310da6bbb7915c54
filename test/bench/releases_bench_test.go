package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// bigChart writes a chart of n resources: ConfigMaps, Secrets and
// Services in the ratio 3:1:1; .Values.gen changes every one of them.
func bigChart(b *testing.B, dir string, n int) string {
	b.Helper()
	c := filepath.Join(dir, "big")
	if err := os.MkdirAll(filepath.Join(c, "templates"), 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: big\nversion: 0.1.0\n",
		"values.yaml": fmt.Sprintf("gen: 1\ncount: %d\n", n/5),
		"templates/cm.yaml": `{{- range $i := until (mul .Values.count 3 | int) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{{ $i }}
data:
  gen: "{{ $.Values.gen }}"
{{- end }}
`,
		"templates/secret.yaml": `{{- range $i := until (.Values.count | int) }}
---
apiVersion: v1
kind: Secret
metadata:
  name: s-{{ $i }}
stringData:
  gen: "{{ $.Values.gen }}"
{{- end }}
`,
		"templates/svc.yaml": `{{- range $i := until (.Values.count | int) }}
---
apiVersion: v1
kind: Service
metadata:
  name: svc-{{ $i }}
  labels: {gen: "{{ $.Values.gen }}"}
spec:
  ports: [{port: 80}]
{{- end }}
`,
	}
	for p, body := range files {
		if err := os.WriteFile(filepath.Join(c, p), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkReleasesVersusHelm installs and then upgrades a 200-resource
// chart with ours, Helm 3.22 and Helm 4.3, each in its own namespace of one
// real control plane, counting each client's API requests through a proxy.
// Every client runs with its defaults (client-side apply for ours and Helm
// 3, server-side apply for Helm 4's install).
func BenchmarkReleasesVersusHelm(b *testing.B) {
	bc := startBenchCluster(b, false)
	tmp, ours, cs, proxy, kc := bc.tmp, bc.ours, bc.cs, bc.proxy, bc.kubeconfig
	chart := bigChart(b, tmp, 200)
	clients := []struct{ name, bin string }{
		{"ours", ours}, {"helm 3.22", peers.Path(b, "helm")}, {"helm 4.3", peers.Path(b, "helm4")},
	}
	type m struct {
		wall time.Duration
		reqs int64
	}
	res := map[string][2]m{}
	run := func(bin string, args ...string) m {
		env := append(peers.Env(filepath.Join(tmp, "home")), "KUBECONFIG="+kc)
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		before := proxy.Count()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
		return m{time.Since(start), int64(proxy.Count() - before)}
	}
	for i := 0; i < b.N; i++ {
		for round := range 2 { // round 0 warms the apiserver and the page cache
			for j, cl := range clients {
				ns := fmt.Sprintf("bench-%d-%d-%d", i, round, j)
				inst := run(cl.bin, "install", "big", chart, "-n", ns, "--create-namespace")
				up := run(cl.bin, "upgrade", "big", chart, "-n", ns, "--set", "gen=2")
				checkUpgraded(b, cs, ns, 200)
				if round == 1 {
					res[cl.name] = [2]m{inst, up}
				}
			}
		}
	}
	best := func(k int) time.Duration {
		return min(res["helm 3.22"][k].wall, res["helm 4.3"][k].wall)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-10s %-8s %10s %9s %14s\n", "client", "step", "wall", "requests", "faster peer/x")
	for _, cl := range clients {
		for k, step := range []string{"install", "upgrade"} {
			r := res[cl.name][k]
			fmt.Fprintf(&sb, "%-10s %-8s %10s %9d %13.2fx\n", cl.name, step, r.wall.Round(time.Millisecond), r.reqs, float64(best(k))/float64(r.wall))
		}
	}
	b.Log(sb.String())
	for k, step := range []string{"install", "upgrade"} {
		b.ReportMetric(float64(best(k))/float64(res["ours"][k].wall), step+"-speedup-vs-faster-helm")
		b.ReportMetric(float64(res["ours"][k].reqs), step+"-requests-ours")
	}
}

// checkUpgraded fails unless all n objects exist with gen=2, so a client
// that did nothing cannot look fast.
func checkUpgraded(b *testing.B, cs kubernetes.Interface, ns string, n int) {
	b.Helper()
	ctx := context.Background()
	got := 0
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cms.Items {
		if c.Data["gen"] == "2" {
			got++
		}
	}
	ss, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range ss.Items {
		if string(s.Data["gen"]) == "2" {
			got++
		}
	}
	svcs, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: "gen=2"})
	if err != nil {
		b.Fatal(err)
	}
	got += len(svcs.Items)
	if got != n {
		b.Fatalf("namespace %s: %d of %d objects upgraded", ns, got, n)
	}
}

// benchCluster is what the release benchmarks share: our client, built; a
// real control plane, stopped when the benchmark ends; a clientset on it;
// and a proxy that counts the clients' requests, with a kubeconfig that
// points at it.
type benchCluster struct {
	tmp, ours, kubeconfig string
	cs                    kubernetes.Interface
	proxy                 *cluster.Proxy
}

// startBenchCluster starts one; unthrottled lifts client-go's rate limit
// on the clientset (and the proxy's upstream), for benchmarks whose own
// traffic (a stand-in kubelet) must not queue behind it.
func startBenchCluster(b *testing.B, unthrottled bool) *benchCluster {
	b.Helper()
	root, _ := filepath.Abs("../..")
	bc := &benchCluster{tmp: b.TempDir()}
	var err error
	if bc.ours, err = procs.Build(root, "./cmd/helm", bc.tmp); err != nil {
		b.Fatal(err)
	}
	c, err := cluster.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Stop)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	if unthrottled {
		cfg.QPS, cfg.Burst = -1, 0
	}
	if bc.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		b.Fatal(err)
	}
	bc.proxy = cluster.NewProxy(b, cfg)
	bc.kubeconfig = bc.proxy.Kubeconfig(b, bc.tmp)
	return bc
}
