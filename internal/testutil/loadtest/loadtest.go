// Package loadtest drives a bounded, mixed load against chartd replicas on
// 127.0.0.1, for the short e2e run (test/e2e) and the long benchmark
// (test/bench): index.yaml GETs with and without an ETag, chart downloads,
// OCI pulls, and pushes over both protocols. Every push answered 201 is
// recorded, so Verify can prove no write was lost.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// The operations of the mix, and their share of the requests (out of 100).
const (
	OpIndex     = "index.yaml"
	OpIndexETag = "index.yaml If-None-Match"
	OpDownload  = "chart download"
	OpOCIPull   = "OCI pull"
	OpPushAPI   = "push (ChartMuseum API)"
	OpPushOCI   = "push (OCI)"
)

var mix = []struct {
	op     string
	weight int
}{{OpIndex, 25}, {OpIndexETag, 25}, {OpDownload, 20}, {OpOCIPull, 15}, {OpPushAPI, 8}, {OpPushOCI, 7}}

// Config bounds a run: both the number of clients and its duration are
// capped by the caller.
type Config struct {
	// Replicas are the base URLs (http://127.0.0.1:port) the clients
	// spread over, client i starting on replica i mod len.
	Replicas []string
	Clients  int
	Duration time.Duration
	// Tenant is the repository path under which everything happens.
	Tenant string
	// Seed charts pushed before the clients start, read by the pulls.
	Seed int
}

// Written is a chart version a push got 201 for.
type Written struct {
	Name, Version string
	Tgz           []byte
	OCI           bool
}

// Report is the outcome of a run.
type Report struct {
	Elapsed   time.Duration
	Latencies map[string][]time.Duration // per operation, successful requests
	Errors    []string                   // unexpected statuses and transport errors
	Written   []Written
}

// Requests is the number of successful requests.
func (r *Report) Requests() int {
	n := 0
	for _, l := range r.Latencies {
		n += len(l)
	}
	return n
}

// Throughput is successful requests per second.
func (r *Report) Throughput() float64 { return float64(r.Requests()) / r.Elapsed.Seconds() }

// Quantile is the q-quantile latency of op (0 when it never ran).
func (r *Report) Quantile(op string, q float64) time.Duration {
	l := r.Latencies[op]
	if len(l) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// Table prints p50 and p99 per operation.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %8s %10s %10s\n", "operation", "count", "p50", "p99")
	for _, m := range mix {
		fmt.Fprintf(&b, "%-28s %8d %10v %10v\n", m.op, len(r.Latencies[m.op]),
			r.Quantile(m.op, 0.50).Round(10*time.Microsecond), r.Quantile(m.op, 0.99).Round(10*time.Microsecond))
	}
	fmt.Fprintf(&b, "%d requests in %v: %.0f req/s, %d errors, %d writes\n", r.Requests(), r.Elapsed.Round(time.Millisecond),
		r.Throughput(), len(r.Errors), len(r.Written))
	return b.String()
}

const (
	helmConfig = "application/vnd.cncf.helm.config.v1+json"
	helmChart  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// ociChart is a chart in Helm's OCI layout.
type ociChart struct {
	config, manifest []byte
	cfgD, layD, manD ocispec.Descriptor
}

func newOCIChart(name, version string, tgz []byte) ociChart {
	c := ociChart{config: fmt.Appendf(nil, `{"name":%q,"version":%q,"apiVersion":"v2"}`, name, version)}
	c.cfgD = content.NewDescriptorFromBytes(helmConfig, c.config)
	c.layD = content.NewDescriptorFromBytes(helmChart, tgz)
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: c.cfgD, Layers: []ocispec.Descriptor{c.layD}}
	c.manifest, _ = json.Marshal(m)
	c.manD = content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, c.manifest)
	return c
}

func repository(base, name string) (*remote.Repository, error) {
	r, err := remote.NewRepository(strings.TrimPrefix(base, "http://") + "/" + name)
	if err != nil {
		return nil, err
	}
	r.PlainHTTP = true
	return r, nil
}

// client is one simulated user.
type client struct {
	cfg   Config
	http  *http.Client
	rng   *rand.Rand
	id    int
	seq   int
	etags map[string]string // per replica and encoding
	lat   map[string][]time.Duration
	errs  []string
	wrote []Written
}

// Run seeds cfg.Seed charts, then runs cfg.Clients clients for
// cfg.Duration (or until ctx ends) and reports what they saw.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Replicas) == 0 || cfg.Clients < 1 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("loadtest: need replicas, clients and a duration: %+v", cfg)
	}
	cfg.Seed = max(cfg.Seed, 1)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	for i := range cfg.Seed {
		name, v := seedChart(i)
		if code, msg, err := post(ctx, hc, cfg.Replicas[i%len(cfg.Replicas)]+"/api/"+cfg.Tenant+"/charts", charttest.Chart(name, v, nil)); err != nil || code != 201 {
			return nil, fmt.Errorf("loadtest: seed %s-%s: %d %s %v", name, v, code, msg, err)
		}
	}
	// The run stops starting operations at its end (or when ctx ends),
	// but the operations under way finish, bounded by the client's
	// timeout, as a real client's would: the end of a run cuts no request
	// off half way, so the servers see no cancellation storm the test did
	// not ask for, and what the last requests meet counts.
	stop, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	reqCtx := context.WithoutCancel(ctx)
	clients := make([]*client, cfg.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		c := &client{cfg: cfg, http: hc, rng: rand.New(rand.NewPCG(uint64(i), 1)), id: i,
			etags: map[string]string{}, lat: map[string][]time.Duration{}}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stop.Err() == nil {
				c.step(reqCtx)
			}
		}()
	}
	wg.Wait()
	rep := &Report{Elapsed: time.Since(start), Latencies: map[string][]time.Duration{}}
	for _, c := range clients {
		for op, l := range c.lat {
			rep.Latencies[op] = append(rep.Latencies[op], l...)
		}
		rep.Errors = append(rep.Errors, c.errs...)
		rep.Written = append(rep.Written, c.wrote...)
	}
	return rep, nil
}

func seedChart(i int) (string, string) { return fmt.Sprintf("seed%02d", i), "1.0.0" }

func post(ctx context.Context, hc *http.Client, url string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(msg), nil
}

// step runs one operation, picked by weight, on a replica picked at random.
func (c *client) step(ctx context.Context) {
	n := c.rng.IntN(100)
	op := mix[0].op
	for _, m := range mix {
		if n < m.weight {
			op = m.op
			break
		}
		n -= m.weight
	}
	base := c.cfg.Replicas[c.rng.IntN(len(c.cfg.Replicas))]
	start := time.Now()
	err := c.do(ctx, op, base)
	took := time.Since(start)
	if err != nil {
		c.errs = append(c.errs, fmt.Sprintf("%s via %s: %v", op, base, err))
		return
	}
	c.lat[op] = append(c.lat[op], took)
}

func (c *client) get(ctx context.Context, url string, hdr map[string]string, want ...int) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range want {
		if res.StatusCode == w {
			return res, b, nil
		}
	}
	return nil, nil, fmt.Errorf("GET %s: %d %s", url, res.StatusCode, b)
}

func (c *client) do(ctx context.Context, op, base string) error {
	t := c.cfg.Tenant
	name, version := seedChart(c.rng.IntN(c.cfg.Seed))
	switch op {
	case OpIndex, OpIndexETag:
		// Half as Helm asks (identity), half with gzip; a revalidation
		// sends the ETag this client last got for that encoding.
		enc := "identity"
		if c.rng.IntN(2) == 0 {
			enc = "gzip"
		}
		hdr := map[string]string{"Accept-Encoding": enc}
		want := []int{200}
		if op == OpIndexETag {
			hdr["If-None-Match"], want = c.etags[base+" "+enc], []int{200, 304}
		}
		res, _, err := c.get(ctx, base+"/"+t+"/index.yaml", hdr, want...)
		if err == nil && res.StatusCode == 200 {
			c.etags[base+" "+enc] = res.Header.Get("ETag")
		}
		return err
	case OpDownload:
		_, b, err := c.get(ctx, fmt.Sprintf("%s/%s/charts/%s-%s.tgz", base, t, name, version), nil, 200)
		if err == nil && !bytes.Equal(b, charttest.Chart(name, version, nil)) {
			return fmt.Errorf("download %s-%s: wrong bytes", name, version)
		}
		return err
	case OpOCIPull:
		r, err := repository(base, t+"/"+name)
		if err != nil {
			return err
		}
		d, rc, err := r.FetchReference(ctx, version)
		if err != nil {
			return err
		}
		m, err := content.ReadAll(rc, d)
		rc.Close()
		if err != nil {
			return err
		}
		var man ocispec.Manifest
		if err := json.Unmarshal(m, &man); err != nil || len(man.Layers) == 0 {
			return fmt.Errorf("manifest of %s:%s: %v", name, version, err)
		}
		_, err = content.FetchAll(ctx, r.Blobs(), man.Layers[0])
		return err
	case OpPushAPI, OpPushOCI:
		c.seq++
		w := Written{Name: fmt.Sprintf("load%03d", c.id), Version: fmt.Sprintf("1.0.%d", c.seq), OCI: op == OpPushOCI}
		w.Tgz = charttest.Chart(w.Name, w.Version, nil)
		if err := c.push(ctx, base, w); err != nil {
			return err
		}
		c.wrote = append(c.wrote, w)
		return nil
	}
	return fmt.Errorf("unknown operation %q", op)
}

func (c *client) push(ctx context.Context, base string, w Written) error {
	if !w.OCI {
		code, msg, err := post(ctx, c.http, base+"/api/"+c.cfg.Tenant+"/charts", w.Tgz)
		if err == nil && code != 201 {
			err = fmt.Errorf("upload %s-%s: %d %s", w.Name, w.Version, code, msg)
		}
		return err
	}
	r, err := repository(base, c.cfg.Tenant+"/"+w.Name)
	if err != nil {
		return err
	}
	oc := newOCIChart(w.Name, w.Version, w.Tgz)
	if err := r.Push(ctx, oc.cfgD, bytes.NewReader(oc.config)); err != nil {
		return err
	}
	if err := r.Push(ctx, oc.layD, bytes.NewReader(w.Tgz)); err != nil {
		return err
	}
	return r.PushReference(ctx, oc.manD, bytes.NewReader(oc.manifest), w.Version)
}

// Verify reads every write of the report back from every replica: listed
// in its index.yaml, downloadable with the same bytes, and pullable over
// OCI. It returns one error per lost or damaged write.
func (r *Report) Verify(ctx context.Context, replicas []string, tenant string) []error {
	var errs []error
	hc := &http.Client{Timeout: 60 * time.Second}
	for _, base := range replicas {
		c := &client{http: hc}
		_, idx, err := c.get(ctx, base+"/"+tenant+"/index.yaml", nil, 200)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, w := range r.Written {
			if !bytes.Contains(idx, []byte(w.Name+"-"+w.Version+".tgz")) {
				errs = append(errs, fmt.Errorf("%s: index lacks %s-%s (oci %t), answered 201", base, w.Name, w.Version, w.OCI))
				continue
			}
			_, b, err := c.get(ctx, fmt.Sprintf("%s/%s/charts/%s-%s.tgz", base, tenant, w.Name, w.Version), nil, 200)
			if err == nil && !bytes.Equal(b, w.Tgz) {
				err = fmt.Errorf("%s: %s-%s reads back different bytes", base, w.Name, w.Version)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			repo, err := repository(base, tenant+"/"+w.Name)
			if err == nil {
				_, err = repo.Resolve(ctx, w.Version)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: OCI resolve %s:%s: %w", base, w.Name, w.Version, err))
			}
		}
	}
	return errs
}
