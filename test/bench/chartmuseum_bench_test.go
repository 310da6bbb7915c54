// Package bench measures chartd side by side with the real peers in one run
// and reports ratios (never absolute times alone: the machines are shared
// and noisy). Run with `make bench`.
package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// versions is the repository size of the ChartMuseum comparison (issue:
// 5,000 versions across 200 charts); CHARTD_BENCH_VERSIONS shrinks it for a
// quick look.
func versions() int {
	if v, err := strconv.Atoi(os.Getenv("CHARTD_BENCH_VERSIONS")); err == nil && v >= 1000 {
		return v
	}
	return 5000
}

type chartFile struct {
	name, version string
	tgz           []byte
}

func corpus(n int) []chartFile {
	out := make([]chartFile, 0, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("chart%03d", i%200)
		ver := fmt.Sprintf("1.%d.0", i/200)
		out = append(out, chartFile{name, ver, charttest.Chart(name, ver, nil)})
	}
	return out
}

func uploadAll(b *testing.B, base string, files []chartFile) time.Duration {
	b.Helper()
	start := time.Now()
	for _, f := range files {
		res, err := http.Post(base+"/api/charts", "application/octet-stream", bytes.NewReader(f.tgz))
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			b.Fatalf("upload %s-%s: %d", f.name, f.version, res.StatusCode)
		}
	}
	return time.Since(start)
}

// load runs a bounded closed-loop load (workers × requests) against url and
// returns throughput and p99. With gzip the client asks for and inflates a
// compressed body, as Helm's Go client does; without, it reads the body as
// wrk or curl would.
func load(b *testing.B, url string, gzipped bool, wire *link, workers, perWorker int) (rps float64, p99 time.Duration) {
	return loadWith(b, url, loadOptions{gzip: gzipped, inflate: true, wire: wire}, workers, perWorker)
}

// loadOptions say how load's client asks and reads: gzip asks for a
// compressed body, inflate decompresses it (client CPU that, on one
// machine, the server under test pays for too), wire passes it through a
// simulated link.
type loadOptions struct {
	gzip, inflate bool
	wire          *link
}

func loadWith(b *testing.B, url string, o loadOptions, workers, perWorker int) (rps float64, p99 time.Duration) {
	b.Helper()
	gzipped, wire := o.gzip, o.wire
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}}
	lat := make([]time.Duration, workers*perWorker)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				if gzipped {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var body io.Reader = res.Body
				if wire != nil {
					body = linkReader{body, wire}
				}
				if res.Header.Get("Content-Encoding") == "gzip" && o.inflate {
					zr, err := gzip.NewReader(body)
					if err != nil {
						b.Error(err)
						return
					}
					body = zr
				}
				n, _ := io.Copy(io.Discard, body)
				res.Body.Close()
				if res.StatusCode != 200 || n == 0 {
					b.Errorf("GET %s: %d", url, res.StatusCode)
					return
				}
				lat[w*perWorker+i] = time.Since(t0)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)*99/100]
}

// BenchmarkVersusChartMuseum is the comparison: upload cost growth,
// index throughput and p99, cold start, and peak RSS, for chartd and
// ChartMuseum (local storage) in the same run.
func BenchmarkVersusChartMuseum(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	n := versions()
	files := corpus(n)
	const window = 500

	for i := 0; i < b.N; i++ {
		// chartd: every version through the HTTP API.
		cdData := b.TempDir()
		cd := procs.StartChartd(b, bin, cdData, "--gc-interval=0")
		cdFirst := uploadAll(b, cd.URL, files[:window])
		uploadAll(b, cd.URL, files[window:n-window])
		cdLast := uploadAll(b, cd.URL, files[n-window:])

		// ChartMuseum: the first and last 500 through the API. The middle is
		// written straight into its storage directory while it is stopped
		// (uploading it would take tens of minutes); restarted without its
		// state file, it indexes everything by scanning storage, so the
		// last 500 are timed against the full repository.
		cmDir := b.TempDir()
		cm := procs.StartChartMuseum(b, cmDir)
		cmFirst := uploadAll(b, cm.URL, files[:window])
		cm.Kill()
		for _, f := range files[window : n-window] {
			if err := os.WriteFile(filepath.Join(cmDir, f.name+"-"+f.version+".tgz"), f.tgz, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.Remove(filepath.Join(cmDir, "index-cache.yaml")); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		cm = procs.StartChartMuseum(b, cmDir)
		if got, _ := countVersions(b, cm.URL+"/index.yaml"); got != n-window {
			b.Fatalf("ChartMuseum indexed %d seeded versions, want %d", got, n-window)
		}
		cmLast := uploadAll(b, cm.URL, files[n-window:])

		// Index throughput and tail latency at n versions.
		const workers, per = 8, 200
		loadOnce := func(url string) {
			res, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
		}
		// Both indexes must list every version, or the comparison is void.
		for _, u := range []string{cd.URL, cm.URL} {
			if got, size := countVersions(b, u+"/index.yaml"); got != n {
				b.Fatalf("%s lists %d versions, want %d", u, got, n)
			} else {
				b.Logf("%s/index.yaml: %d versions, %d bytes", u, got, size)
			}
		}
		cdRPS, cdP99 := load(b, cd.URL+"/index.yaml", false, nil, workers, per)
		cmRPS, cmP99 := load(b, cm.URL+"/index.yaml", false, nil, workers, per)
		cdRPSgz, cdP99gz := load(b, cd.URL+"/index.yaml", true, nil, workers, per)
		cmRPSgz, cmP99gz := load(b, cm.URL+"/index.yaml", true, nil, workers, per)
		// The same Helm-like client behind one simulated 1 Gbit/s link.
		cdRPSnet, cdP99net := load(b, cd.URL+"/index.yaml", true, newLink(125e6), workers, 25)
		cmRPSnet, cmP99net := load(b, cm.URL+"/index.yaml", true, newLink(125e6), workers, 25)

		cdRSS, err := cd.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		cmRSS, err := cm.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}

		// Cold start: process start to the first complete index.yaml.
		cd.Kill()
		cm.Kill()
		t0 := time.Now()
		cd2 := procs.StartChartd(b, bin, cdData, "--gc-interval=0")
		loadOnce(cd2.URL + "/index.yaml")
		cdStart := time.Since(t0)
		t0 = time.Now()
		cm2 := procs.StartChartMuseum(b, cmDir)
		loadOnce(cm2.URL + "/index.yaml")
		cmStart := time.Since(t0)

		growthCD := cdLast.Seconds() / cdFirst.Seconds()
		growthCM := cmLast.Seconds() / cmFirst.Seconds()
		b.ReportMetric(growthCD, "chartd-upload-last/first")
		b.ReportMetric(growthCM, "chartmuseum-upload-last/first")
		b.ReportMetric(cmLast.Seconds()/cdLast.Seconds(), "last500-speedup-x")
		b.ReportMetric(cdRPS/cmRPS, "index-throughput-x")
		b.ReportMetric(float64(cmP99)/float64(cdP99), "index-p99-speedup-x")
		b.ReportMetric(cdRPSgz/cmRPSgz, "index-gzip-client-throughput-x")
		b.ReportMetric(cdRPSnet/cmRPSnet, "index-1gbit-link-throughput-x")
		b.ReportMetric(cdStart.Seconds(), "chartd-coldstart-s")
		b.ReportMetric(cmStart.Seconds()/cdStart.Seconds(), "coldstart-speedup-x")
		b.ReportMetric(float64(cdRSS)/(1<<20), "chartd-peak-rss-MB")
		b.ReportMetric(float64(cdRSS)/float64(cmRSS), "rss-chartd/chartmuseum")
		r := results(b)
		r.ceiling(fmt.Sprintf("upload cost growth, last/first %d of %d (chartd)", window, n), growthCD, 1.2,
			fmt.Sprintf("%v vs %v", cdLast.Round(time.Millisecond), cdFirst.Round(time.Millisecond)))
		r.ratio(fmt.Sprintf("upload cost growth, last/first %d of %d (ChartMuseum)", window, n), growthCM, 0,
			fmt.Sprintf("%v vs %v", cmLast.Round(time.Millisecond), cmFirst.Round(time.Millisecond)))
		r.ratio(fmt.Sprintf("last %d uploads, ChartMuseum time / chartd time", window), cmLast.Seconds()/cdLast.Seconds(), 0, "")
		r.ratio("cold start to first index, ChartMuseum / chartd", cmStart.Seconds()/cdStart.Seconds(), 0,
			fmt.Sprintf("%v vs %v", cmStart.Round(time.Millisecond), cdStart.Round(time.Millisecond)))
		r.ratio("peak RSS, chartd / ChartMuseum", float64(cdRSS)/float64(cmRSS), 0,
			fmt.Sprintf("%.1f vs %.1f MB", float64(cdRSS)/(1<<20), float64(cmRSS)/(1<<20)))
		b.Logf("versions=%d", n)
		b.Logf("upload first %d: chartd %v, ChartMuseum %v; last %d: chartd %v, ChartMuseum %v",
			window, cdFirst, cmFirst, window, cdLast, cmLast)
		b.Logf("upload growth last/first: chartd %.2fx (target <= 1.2), ChartMuseum %.2fx", growthCD, growthCM)
		b.Logf("index.yaml: chartd %.0f req/s p99 %v; ChartMuseum %.0f req/s p99 %v; throughput ratio %.1fx (target >= 10)",
			cdRPS, cdP99, cmRPS, cmP99, cdRPS/cmRPS)
		b.Logf("index.yaml, client accepting gzip (as Helm): chartd %.0f req/s p99 %v; ChartMuseum %.0f req/s p99 %v; ratio %.1fx",
			cdRPSgz, cdP99gz, cmRPSgz, cmP99gz, cdRPSgz/cmRPSgz)
		b.Logf("index.yaml, Helm-like client over a simulated 1 Gbit/s link: chartd %.0f req/s p99 %v; ChartMuseum %.0f req/s p99 %v; ratio %.1fx",
			cdRPSnet, cdP99net, cmRPSnet, cmP99net, cdRPSnet/cmRPSnet)
		b.Logf("cold start to first index: chartd %v (target < 1s), ChartMuseum %v", cdStart, cmStart)
		b.Logf("peak RSS: chartd %.1f MB (target < 150), ChartMuseum %.1f MB", float64(cdRSS)/(1<<20), float64(cmRSS)/(1<<20))
	}
}

// countVersions fetches an index and counts its versions.
func countVersions(b *testing.B, url string) (int, int) {
	b.Helper()
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	f, err := index.Load(body)
	if err != nil {
		b.Fatalf("%s: %v", url, err)
	}
	n := 0
	for _, vs := range f.Entries {
		n += len(vs)
	}
	return n, len(body)
}

// link is a token bucket shared by every connection of a load run: bytes
// on the wire pass at rate bytes/s in total, as over one network link.
// Loopback has no such limit, which hides what compression buys.
type link struct {
	mu   sync.Mutex
	rate float64
	next time.Time
}

func newLink(bytesPerSecond float64) *link { return &link{rate: bytesPerSecond} }

// pass blocks until n more bytes fit through the link. The sleep is the
// link's delay being simulated, not synchronisation.
func (l *link) pass(n int) {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	d := l.next.Sub(now)
	l.mu.Unlock()
	time.Sleep(d)
}

type linkReader struct {
	r io.Reader
	l *link
}

func (lr linkReader) Read(p []byte) (int, error) {
	n, err := lr.r.Read(p)
	lr.l.pass(n)
	return n, err
}
