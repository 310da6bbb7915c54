package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chartd/chartd/internal/testutil/browser"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// uiSizes are the repository sizes, in versions, the web UI's first render
// is measured at. Both have uiCharts charts; half the versions belong to
// one chart ("big"), the rest are spread over the others, so the home page
// and the page of the biggest chart grow with the size, while what a first
// page shows (20 charts, 20 versions) does not.
var uiSizes = []int{100, 10_000}

const (
	uiCharts = 50
	// uiLoads is how many times each page is loaded at each size; the
	// median is reported.
	uiLoads = 25
	// maxUIRatio is the target: the first page at 10,000 versions
	// renders in at most 1.5× the time at 100.
	maxUIRatio = 1.5
)

// BenchmarkUIFirstRender loads the UI's home page and the page of the chart
// with the most versions in headless Chromium, at 100 and at 10,000
// versions, and reports the median time from navigation to the page's data
// rendered (the page's own performance mark), and the ratio of the sizes.
func BenchmarkUIFirstRender(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := browser.New(b, 10*time.Minute)
	pages := []struct{ name, path, mark string }{
		{"home", "/ui/", "home"},
		{"chart", "/ui/charts/team00/big", "chart"},
	}
	for i := 0; i < b.N; i++ {
		// Both sizes are served at once and loaded in turn, so the load
		// of this shared machine weighs on both alike.
		servers := map[int]*procs.Proc{}
		for _, n := range uiSizes {
			servers[n] = startUIChartd(b, bin, n)
		}
		// The API calls behind the pages, timed alone, for the log.
		for _, path := range []string{"/api/v1/charts?limit=20", "/api/v1/charts/big?repo=team00&limit=20", "/api/v1/charts/big/latest?repo=team00"} {
			times := map[int][]time.Duration{}
			for r := 0; r < 40; r++ {
				for _, n := range uiSizes {
					times[n] = append(times[n], timedSearch(b, http.DefaultClient, servers[n].URL+path, "big"))
				}
			}
			b.Logf("GET %s: p50 %v at %d versions, %v at %d", path, quantile(times[uiSizes[0]], 0.5), uiSizes[0], quantile(times[uiSizes[1]], 0.5), uiSizes[1])
		}
		medians := map[string]map[int]time.Duration{}
		for _, p := range pages {
			medians[p.name] = map[int]time.Duration{}
			times := map[int][]time.Duration{}
			for l := 0; l < uiLoads+1; l++ {
				for _, n := range uiSizes {
					d := firstRender(b, ctx, servers[n].URL+p.path, p.mark)
					if l > 0 { // the first load fills the browser's cache
						times[n] = append(times[n], d)
					}
				}
			}
			for _, n := range uiSizes {
				// Once more at this size, for what the page shows and its API calls.
				firstRender(b, ctx, servers[n].URL+p.path, p.mark)
				if p.name == "chart" {
					got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#versions-title + p").textContent`))
					if err != nil || got != fmt.Sprintf("%d versions", n/2+1) {
						b.Fatalf("big at %d versions shows %q (%v)", n, got, err)
					}
				}
				api, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("resource").filter(e => e.name.includes("/api/v1/")).map(e => e.name.replace(/^.*\/api\/v1/, "") + " " + Math.round(e.duration) + "ms").join(", ")`))
				if err != nil {
					b.Fatal(err)
				}
				medians[p.name][n] = quantile(times[n], 0.5)
				b.Logf("%s page at %d versions: first render p50 %v, p90 %v (last load's API calls: %s)", p.name, n,
					medians[p.name][n].Round(100*time.Microsecond), quantile(times[n], 0.9).Round(100*time.Microsecond), api)
				b.ReportMetric(float64(medians[p.name][n].Microseconds())/1000, fmt.Sprintf("%s-ms-%d", p.name, n))
			}
		}
		for _, n := range uiSizes {
			servers[n].Stop()
		}
		for _, p := range pages {
			ratio := medians[p.name][uiSizes[1]].Seconds() / medians[p.name][uiSizes[0]].Seconds()
			b.ReportMetric(ratio, p.name+"-10k/100")
			b.Logf("%s page: first render at 10k / at 100 versions = %.2f (target at most %.1f)", p.name, ratio, maxUIRatio)
			if ratio > maxUIRatio {
				b.Errorf("the %s page renders %.2f× slower at %d versions than at %d", p.name, ratio, uiSizes[1], uiSizes[0])
			}
		}
	}
}

// startUIChartd starts a chartd holding n versions (see uiSizes).
func startUIChartd(b *testing.B, bin string, n int) *procs.Proc {
	b.Helper()
	dir := b.TempDir()
	procs.StartChartd(b, bin, dir, "--gc-interval=0", "--depth=1").Stop()
	seedVersions(b, filepath.Join(dir, "chartd.db"), []string{"team00"}, n-1, func(i int) seeded {
		name, version := "big", fmt.Sprintf("1.%d.0", i/2)
		if i%2 == 1 {
			name, version = fmt.Sprintf("svc%03d", i%(uiCharts-1)), fmt.Sprintf("1.%d.0", i/(2*(uiCharts-1)))
		}
		meta := fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q,"description":"Service %s of the fleet"}`, name, version, name)
		return seeded{name: name, version: version, meta: meta}
	})
	cd := procs.StartChartd(b, bin, dir, "--gc-interval=0", "--depth=1")
	browser.RequireUI(b, cd.URL)
	// The newest version of big is a real upload: its page reads README
	// and values from the stored archive.
	res, err := http.Post(cd.URL+"/api/team00/charts", "application/gzip", bytes.NewReader(charttest.Chart("big", "9.0.0", nil)))
	if err != nil || res.StatusCode != http.StatusCreated {
		b.Fatalf("upload big-9.0.0: %v %v", err, res)
	}
	res.Body.Close()
	return cd
}

// firstRender loads url and returns the time from navigation to the page's
// performance mark (set once its data is on screen).
func firstRender(b *testing.B, ctx context.Context, url, mark string) time.Duration {
	b.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.body.dataset.ready === %q`, mark), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.Fatalf("%s: %v", url, err)
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`performance.getEntriesByName("chartd:%s")[0].startTime`, mark)))
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}
