package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

const (
	helmConfig = "application/vnd.cncf.helm.config.v1+json"
	helmChart  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// startDistribution runs the distribution registry v3.1.2 with filesystem storage.
func startDistribution(b *testing.B) *procs.Proc {
	b.Helper()
	dir := b.TempDir()
	port := procs.FreePort(b)
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%d\n", filepath.Join(dir, "data"), port)
	cf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(peers.Path(b, "registry"), "serve", cf)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	p := &procs.Proc{Cmd: cmd, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Kill)
	procs.WaitHTTP(b, p.URL+"/v2/", p.Logs)
	return p
}

func repoFor(b *testing.B, host, name string) *remote.Repository {
	r, err := remote.NewRepository(host + "/" + name)
	if err != nil {
		b.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

type ociChart struct {
	name, tag        string
	config, layer    []byte
	manifest         []byte
	cfgD, layD, manD ocispec.Descriptor
}

// ociCorpus makes n charts whose bytes differ from every other round's, so
// each round pushes content neither registry holds yet.
func ociCorpus(round, n int) []ociChart {
	out := make([]ociChart, n)
	for i := range out {
		name := fmt.Sprintf("r%dc%04d", round, i)
		c := ociChart{name: name, tag: "1.0.0", layer: charttest.Chart(name, "1.0.0", nil)}
		c.config = []byte(fmt.Sprintf(`{"name":%q,"version":"1.0.0","apiVersion":"v2"}`, name))
		c.cfgD = content.NewDescriptorFromBytes(helmConfig, c.config)
		c.layD = content.NewDescriptorFromBytes(helmChart, c.layer)
		m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			Config: c.cfgD, Layers: []ocispec.Descriptor{c.layD}}
		c.manifest, _ = json.Marshal(m)
		c.manD = content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, c.manifest)
		out[i] = c
	}
	return out
}

// parallel runs fn over items with a fixed number of workers.
func parallel(b *testing.B, n, workers int, fn func(i int) error) time.Duration {
	b.Helper()
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { b.Error(err) })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

func pushCharts(b *testing.B, host, ns string, charts []ociChart) time.Duration {
	ctx := context.Background()
	return parallel(b, len(charts), 8, func(i int) error {
		c := charts[i]
		r := repoFor(b, host, ns+"/"+c.name)
		if err := r.Push(ctx, c.cfgD, bytes.NewReader(c.config)); err != nil {
			return err
		}
		if err := r.Push(ctx, c.layD, bytes.NewReader(c.layer)); err != nil {
			return err
		}
		return r.PushReference(ctx, c.manD, bytes.NewReader(c.manifest), c.tag)
	})
}

func pullCharts(b *testing.B, host, ns string, charts []ociChart) time.Duration {
	ctx := context.Background()
	return parallel(b, len(charts), 8, func(i int) error {
		c := charts[i]
		r := repoFor(b, host, ns+"/"+c.name)
		_, rc, err := r.FetchReference(ctx, c.tag)
		if err != nil {
			return err
		}
		var m ocispec.Manifest
		err = json.NewDecoder(rc).Decode(&m)
		rc.Close()
		if err != nil {
			return err
		}
		for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			got, err := content.FetchAll(ctx, r, d)
			if err != nil {
				return err
			}
			if digest.FromBytes(got) != d.Digest {
				return fmt.Errorf("%s: corrupt blob", c.name)
			}
		}
		return nil
	})
}

// bigBlob is a 200 MB random file that each round changes in its first
// bytes (so every round pushes a blob neither registry holds yet), streamed
// from the file so neither side is measured holding it in memory.
type bigBlob struct {
	path string
	f    *os.File
}

func newBigBlob(b *testing.B) *bigBlob {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "big"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if _, err := io.CopyN(f, rand.Reader, 200<<20); err != nil {
		b.Fatal(err)
	}
	return &bigBlob{path: f.Name(), f: f}
}

// round stamps round into the blob and returns its descriptor.
func (bb *bigBlob) round(b *testing.B, round int) ocispec.Descriptor {
	b.Helper()
	if _, err := bb.f.WriteAt([]byte(fmt.Sprintf("round %08d", round)), 0); err != nil {
		b.Fatal(err)
	}
	h := digest.SHA256.Digester()
	if _, err := io.Copy(h.Hash(), io.NewSectionReader(bb.f, 0, 200<<20)); err != nil {
		b.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: h.Digest(), Size: 200 << 20}
}

func pushBig(b *testing.B, host, path string, d ocispec.Descriptor) time.Duration {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if err := repoFor(b, host, "big/blob").Push(context.Background(), d, f); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// pushChunked pushes the blob as docker and containerd do: POST, the whole
// body in one PATCH, then PUT ?digest= without a body.
func pushChunked(b *testing.B, host, path string, d ocispec.Descriptor) time.Duration {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	base := &url.URL{Scheme: "http", Host: host}
	do := func(method, target string, body io.Reader, size int64, want int) *url.URL {
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			b.Fatal(err)
		}
		if body != nil {
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Content-Range", fmt.Sprintf("0-%d", size-1))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("%s %s: %s %s", method, target, resp.Status, msg)
		}
		loc, err := base.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.Fatal(err)
		}
		return loc
	}
	start := time.Now()
	loc := do("POST", base.String()+"/v2/big/chunked/blobs/uploads/", nil, 0, http.StatusAccepted)
	loc = do("PATCH", loc.String(), io.NopCloser(f), d.Size, http.StatusAccepted)
	q := loc.Query()
	q.Set("digest", d.Digest.String())
	loc.RawQuery = q.Encode()
	do("PUT", loc.String(), nil, 0, http.StatusCreated)
	return time.Since(start)
}

func pullBig(b *testing.B, host string, d ocispec.Descriptor) time.Duration {
	start := time.Now()
	rc, err := repoFor(b, host, "big/blob").Fetch(context.Background(), d)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != d.Size {
		b.Fatalf("pulled %d bytes: %v", n, err)
	}
	return time.Since(start)
}

// diskWriteSpeed measures sequential write throughput (bytes/s) to the
// benchmark's temp dir, fsynced as both registries sync a blob: the best of
// three, so a momentarily busy disk does not flatter the comparison.
func diskWriteSpeed(b *testing.B) float64 {
	b.Helper()
	buf := make([]byte, 1<<20)
	_, _ = rand.Read(buf)
	best := 0.0
	for round := 0; round < 3; round++ {
		f, err := os.Create(filepath.Join(b.TempDir(), "dd"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < 200; i++ {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		best = max(best, float64(200<<20)/time.Since(start).Seconds())
		f.Close()
		os.Remove(f.Name())
	}
	return best
}

// rounds is how many times each figure is measured (CHARTD_BENCH_ROUNDS).
func rounds(def int) int {
	if v, err := strconv.Atoi(os.Getenv("CHARTD_BENCH_ROUNDS")); err == nil && v >= 1 {
		return v
	}
	return def
}

// figure collects one ratio per round. Each round measures chartd and the
// peer back to back, so a ratio compares the two under the same load on
// this shared machine; the median of the rounds is the figure, and the
// worst round is reported beside it.
type figure struct {
	name   string
	ratios []float64
	notes  []string
}

func (f *figure) add(ratio float64, format string, args ...any) {
	f.ratios = append(f.ratios, ratio)
	f.notes = append(f.notes, fmt.Sprintf("%.2f (", ratio)+fmt.Sprintf(format, args...)+")")
}

func (f *figure) report(b *testing.B) {
	sorted := slices.Clone(f.ratios)
	slices.Sort(sorted)
	b.ReportMetric(sorted[len(sorted)/2], f.name)
	b.ReportMetric(sorted[0], f.name+"-worst")
	b.Logf("%s per round: %s", f.name, strings.Join(f.notes, ", "))
	results(b).ratio("OCI "+f.name+" (median of rounds; a -ratio is distribution time / chartd time)", sorted[len(sorted)/2], 0,
		fmt.Sprintf("worst %.2f", sorted[0]))
}

// BenchmarkVersusDistribution compares chartd's registry with the
// distribution registry v3.1.2 (filesystem storage), both syncing what they
// store: 1,000 charts pushed and pulled in parallel with oras-go, and one
// 200 MB blob pushed (whole, and in docker's PATCH-then-PUT form) and
// pulled; each is measured in several rounds of fresh content,
// alternating which registry goes first.
func BenchmarkVersusDistribution(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	big := newBigBlob(b)
	for i := 0; i < b.N; i++ {
		cd := procs.StartChartd(b, bin, b.TempDir(), "--gc-interval=0", "--depth=1")
		dist := startDistribution(b)
		cdHost, distHost := cd.URL[len("http://"):], dist.URL[len("http://"):]
		// first runs the measurement on both, in an order that alternates
		// by round so neither always meets a warmer or busier machine.
		first := func(round int, fn func(host string) time.Duration) (cdT, distT time.Duration) {
			if round%2 == 0 {
				cdT = fn(cdHost)
				return cdT, fn(distHost)
			}
			distT = fn(distHost)
			return fn(cdHost), distT
		}

		push1000 := &figure{name: "push1000-ratio"}
		pull1000 := &figure{name: "pull1000-ratio"}
		for r := range rounds(3) {
			charts := ociCorpus(r, 1000)
			cdT, distT := first(r, func(host string) time.Duration { return pushCharts(b, host, "bench", charts) })
			push1000.add(distT.Seconds()/cdT.Seconds(), "chartd %v, distribution %v", cdT, distT)
			cdT, distT = first(r, func(host string) time.Duration { return pullCharts(b, host, "bench", charts) })
			pull1000.add(distT.Seconds()/cdT.Seconds(), "chartd %v, distribution %v", cdT, distT)
		}

		push200 := &figure{name: "push200MB-ratio"}
		pull200 := &figure{name: "pull200MB-ratio"}
		chunked200 := &figure{name: "push200MB-chunked-ratio"}
		vsDisk := &figure{name: "push200MB/disk-write"}
		// Each 200 MB push follows a measurement of the disk, so both
		// registries meet the same state of the disk (a push right after
		// the other registry's 200 MB was measurably slowed by it), and
		// chartd's rate is set against the disk as it was just then.
		var cdDisk float64
		afterDisk := func(push func(host string) time.Duration) func(string) time.Duration {
			return func(host string) time.Duration {
				disk := diskWriteSpeed(b)
				if host == cdHost {
					cdDisk = disk
				}
				return push(host)
			}
		}
		for r := range rounds(5) {
			d := big.round(b, r)
			cdT, distT := first(r, afterDisk(func(host string) time.Duration { return pushBig(b, host, big.path, d) }))
			push200.add(distT.Seconds()/cdT.Seconds(), "chartd %v, distribution %v", cdT, distT)
			cdRate := float64(d.Size) / cdT.Seconds()
			vsDisk.add(cdRate/cdDisk, "chartd %.0f MB/s, disk %.0f MB/s", cdRate/(1<<20), cdDisk/(1<<20))
			cdT, distT = first(r, func(host string) time.Duration { return pullBig(b, host, d) })
			pull200.add(distT.Seconds()/cdT.Seconds(), "chartd %v, distribution %v", cdT, distT)
			// Chunked, the blob stamped anew: content neither registry has.
			d = big.round(b, 1000+r)
			cdT, distT = first(r, afterDisk(func(host string) time.Duration { return pushChunked(b, host, big.path, d) }))
			chunked200.add(distT.Seconds()/cdT.Seconds(), "chartd %v, distribution %v", cdT, distT)
		}
		for _, f := range []*figure{push1000, pull1000, push200, pull200, chunked200, vsDisk} {
			f.report(b)
		}
	}
}
