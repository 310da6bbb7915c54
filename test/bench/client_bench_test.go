package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// runMeasured runs a command and returns its wall time and peak RSS. The
// RSS comes from GNU time, not from this process's wait4: Go starts
// children with vfork, so a child's ru_maxrss starts at the size of this
// (large) benchmark process and would hide anything smaller.
func runMeasured(b *testing.B, env []string, dir, bin string, args ...string) (time.Duration, int64, string) {
	b.Helper()
	const marker = "chartd-bench-maxrss-kb="
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", marker + "%M", bin}, args...)...)
	cmd.Env, cmd.Dir = env, dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, errb.String())
	}
	wall := time.Since(start)
	i := strings.LastIndex(errb.String(), marker)
	if i < 0 {
		b.Fatalf("no RSS from /usr/bin/time: %s", errb.String())
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(errb.String()[i+len(marker):]), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return wall, kb * 1024, out.String()
}

// BenchmarkClientVersusHelm compares our helm with real Helm v3.22.0:
// `repo update` + `search repo` on a 15,000-version repository served by
// chartd, and `template` of a chart with 300 templates.
func BenchmarkClientVersusHelm(b *testing.B) {
	root, _ := filepath.Abs("../..")
	tmp := b.TempDir()
	chartd, err := procs.Build(root, "./cmd/chartd", tmp)
	if err != nil {
		b.Fatal(err)
	}
	ours, err := procs.Build(root, "./cmd/helm", tmp)
	if err != nil {
		b.Fatal(err)
	}
	helmBin := peers.Path(b, "helm")

	srv := procs.StartChartd(b, chartd, b.TempDir(), "--gc-interval=0")
	const versions = 15000
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := fmt.Sprintf("app%03d", i%500)
				tgz := charttest.Chart(name, fmt.Sprintf("1.%d.%d", i/500, i%7), nil)
				res, err := http.Post(srv.URL+"/api/charts", "application/octet-stream", bytes.NewReader(tgz))
				if err != nil {
					b.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					b.Errorf("upload %d: %d", i, res.StatusCode)
				}
			}
		}()
	}
	for i := 0; i < versions; i++ {
		next <- i
	}
	close(next)
	wg.Wait()

	chartDir := filepath.Join(b.TempDir(), "big")
	if err := os.MkdirAll(filepath.Join(chartDir, "templates"), 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: big\nversion: 0.1.0\n",
		"values.yaml": "replicas: 2\nimage:\n  repository: nginx\n  tag: \"1.27\"\nlabels:\n  team: web\n",
		"templates/_helpers.tpl": "{{- define \"big.labels\" -}}\napp: {{ .Chart.Name }}\nrelease: {{ .Release.Name }}\n" +
			"{{- range $k, $v := .Values.labels }}\n{{ $k }}: {{ $v | quote }}\n{{- end }}\n{{- end }}\n",
	}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("templates/cm%03d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-%03d\n  labels:\n{{ include \"big.labels\" . | indent 4 }}\ndata:\n  image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\n  replicas: {{ .Values.replicas | quote }}\n  upper: {{ \"x%03d\" | upper }}\n", i, i)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(chartDir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}

	type result struct {
		update, search, template time.Duration
		rssUpdate, rssSearch     int64
	}
	measure := func(bin string) result {
		home := b.TempDir()
		env := peers.Env(home)
		var r result
		runMeasured(b, env, home, bin, "repo", "add", "big", srv.URL)
		r.update, r.rssUpdate, _ = runMeasured(b, env, home, bin, "repo", "update")
		var out string
		r.search, r.rssSearch, out = runMeasured(b, env, home, bin, "search", "repo", "app42", "--versions")
		if !strings.Contains(out, "big/app420") {
			b.Fatalf("%s search found nothing:\n%.500s", bin, out)
		}
		const reps = 5
		for i := 0; i < reps; i++ {
			d, _, _ := runMeasured(b, env, home, bin, "template", "rel", chartDir)
			r.template += d / reps
		}
		return r
	}
	for i := 0; i < b.N; i++ {
		o := measure(ours)
		h := measure(helmBin)
		speed := (h.update + h.search).Seconds() / (o.update + o.search).Seconds()
		mem := float64(max(o.rssUpdate, o.rssSearch)) / float64(max(h.rssUpdate, h.rssSearch))
		b.ReportMetric(speed, "update+search-speedup-x")
		b.ReportMetric(mem, "update+search-peak-rss-ours/helm")
		b.ReportMetric(h.template.Seconds()/o.template.Seconds(), "template300-speedup-x")
		b.Logf("%d versions: repo update ours %v helm %v; search ours %v helm %v; speedup %.1fx (target >= 5)",
			versions, o.update, h.update, o.search, h.search, speed)
		b.Logf("peak RSS: update ours %.1f MB helm %.1f MB; search ours %.1f MB helm %.1f MB; ratio %.2f (target <= 0.33)",
			mb(o.rssUpdate), mb(h.rssUpdate), mb(o.rssSearch), mb(h.rssSearch), mem)
		b.Logf("template of 300 templates (mean of 5): ours %v helm %v; speedup %.2fx (target >= 1)",
			o.template, h.template, h.template.Seconds()/o.template.Seconds())
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
