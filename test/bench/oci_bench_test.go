package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

func ociCorpus(n int) []ociChart {
	out := make([]ociChart, n)
	for i := range out {
		name := fmt.Sprintf("c%04d", i)
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

// bigBlob is a 200 MB blob streamed from a file, so neither side is
// measured holding it in memory.
func bigBlob(b *testing.B) (string, ocispec.Descriptor) {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "big"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := digest.SHA256.Digester()
	if _, err := io.CopyN(io.MultiWriter(f, h.Hash()), rand.Reader, 200<<20); err != nil {
		b.Fatal(err)
	}
	return f.Name(), ocispec.Descriptor{MediaType: "application/octet-stream", Digest: h.Digest(), Size: 200 << 20}
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
// benchmark's temp dir, fsynced, in this run: the best of three, so a
// momentarily busy disk does not flatter the comparison.
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

// BenchmarkVersusDistribution compares chartd's registry with the
// distribution registry v3.1.2 (filesystem storage): 1,000 charts pushed
// and pulled in parallel with oras-go, and one 200 MB blob.
func BenchmarkVersusDistribution(b *testing.B) {
	root, _ := filepath.Abs("../..")
	bin, err := procs.Build(root, "./cmd/chartd", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	charts := ociCorpus(1000)
	path, big := bigBlob(b)
	for i := 0; i < b.N; i++ {
		cd := procs.StartChartd(b, bin, b.TempDir(), "--gc-interval=0", "--depth=1")
		dist := startDistribution(b)
		cdHost, distHost := cd.URL[len("http://"):], dist.URL[len("http://"):]

		cdPush := pushCharts(b, cdHost, "bench", charts)
		distPush := pushCharts(b, distHost, "bench", charts)
		cdPull := pullCharts(b, cdHost, "bench", charts)
		distPull := pullCharts(b, distHost, "bench", charts)

		disk := diskWriteSpeed(b)
		cdBigPush := pushBig(b, cdHost, path, big)
		distBigPush := pushBig(b, distHost, path, big)
		cdBigPull := pullBig(b, cdHost, big)
		distBigPull := pullBig(b, distHost, big)

		cdRate := float64(big.Size) / cdBigPush.Seconds()
		b.ReportMetric(distPush.Seconds()/cdPush.Seconds(), "push1000-ratio")
		b.ReportMetric(distPull.Seconds()/cdPull.Seconds(), "pull1000-ratio")
		b.ReportMetric(distBigPush.Seconds()/cdBigPush.Seconds(), "push200MB-ratio")
		b.ReportMetric(distBigPull.Seconds()/cdBigPull.Seconds(), "pull200MB-ratio")
		b.ReportMetric(cdRate/disk, "push200MB/disk-write")
		b.Logf("1000 charts, 8 workers: push chartd %v vs distribution %v; pull chartd %v vs distribution %v",
			cdPush, distPush, cdPull, distPull)
		b.Logf("200 MB blob: push chartd %v vs distribution %v; pull chartd %v vs distribution %v",
			cdBigPush, distBigPush, cdBigPull, distBigPull)
		b.Logf("disk sequential write %.0f MB/s; chartd 200 MB push %.0f MB/s = %.0f%% (target >= 50%%)",
			disk/(1<<20), cdRate/(1<<20), 100*cdRate/disk)
	}
}
