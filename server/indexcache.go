package server

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// indexCache keeps, per tenant, the rendered index bytes (YAML, JSON and
// their gzip forms) under the tenant's generation. A GET costs one cheap
// generation read; a rebuild happens once per generation and re-renders only
// the versions it has not rendered before, so index work never grows with
// the number of uploads between two GETs, and start-up does no index work.
//
// The cache's memory is bounded by one byte budget over all tenants
// (--index-cache-size): tenants are dropped least recently used first, and
// a tenant whose rendering alone exceeds the budget is served but not
// kept, so one tenant's huge index costs that tenant rebuilds, not the
// process its memory.
type indexCache struct {
	s  *Server
	mu sync.Mutex
	// tenants holds only tenants that exist in the database, so GETs of
	// made-up tenant paths cannot grow it.
	tenants map[string]*tenantIndex
	// lru orders the tenants whose rendering is kept, most recently used
	// first; used is what they are charged, at most budget.
	lru          *list.List
	used, budget int64
	// localWrites, when set, counts this process's index-changing writes
	// and this process is the database's only writer (embedded SQLite):
	// a cached index built at the current count is current. Another process
	// on the same file (`chartd import` run beside a server) is noticed
	// within localTrust, when the generation is read again.
	localWrites *atomic.Int64
	trust       time.Duration // localTrust; a field so tests can vary it
}

// localTrust bounds how long the write counter alone vouches for a cached
// index before the database's generation is read again.
const localTrust = time.Second

type tenantIndex struct {
	repo    string
	mu      sync.Mutex // one rebuild at a time per tenant
	current atomic.Pointer[renderedIndex]
	frags   map[fragKey]index.Entry // guarded by mu
	// spill is the last rendering too large to keep (guarded by mu): the
	// requests that waited for its rebuild are served it, and it is gone
	// once the last response using it is done.
	spill weak.Pointer[renderedIndex]
	// Guarded by indexCache.mu: the tenant's place in the LRU (nil when
	// nothing of it is kept) and the bytes it is charged.
	elem *list.Element
	size int64
}

// fragKey identifies a rendered version entry; anything that changes its
// bytes changes the key.
type fragKey struct {
	name, version string
	digest        digest.Digest
	created       int64
}

// renderedIndex is one generation of a tenant's index, in every encoding.
type renderedIndex struct {
	gen                        int64
	writes                     int64     // localWrites when last proven current
	checked                    time.Time // when gen was last read from the database
	yaml, yamlGz, json, jsonGz []byte
	etagYAML, etagJSON         string
	modified                   time.Time
}

func newIndexCache(s *Server) *indexCache {
	c := &indexCache{s: s, tenants: map[string]*tenantIndex{}, lru: list.New(),
		budget: s.cfg.IndexCacheSize, trust: localTrust}
	s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chartd_index_cache_bytes", Help: "Bytes of rendered indexes kept in memory.",
	}, func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return float64(c.used)
	}))
	return c
}

// lookup returns the tenant's entry, marking it recently used.
func (c *indexCache) lookup(repo string, create bool) *tenantIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	ti := c.tenants[repo]
	if ti == nil && create {
		ti = &tenantIndex{repo: repo, frags: map[fragKey]index.Entry{}}
		c.tenants[repo] = ti
	}
	if ti != nil && ti.elem != nil {
		c.lru.MoveToFront(ti.elem)
	}
	return ti
}

// keep charges a fresh rendering and its fragments to the budget and
// makes it the tenant's current one, dropping least recently used tenants
// to make room; a rendering larger than the whole budget is not kept.
// The caller holds ti.mu.
func (c *indexCache) keep(ti *tenantIndex, ri *renderedIndex, frags map[fragKey]index.Entry) {
	size := ri.size() + fragsSize(frags)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants[ti.repo] != ti {
		return // dropped while it was rebuilt: this request is served, nothing kept
	}
	if size > c.budget {
		c.forget(ti)
		ti.current.Store(nil)
		ti.frags = map[fragKey]index.Entry{}
		ti.spill = weak.Make(ri)
		return
	}
	ti.frags = frags
	ti.current.Store(ri)
	c.used += size - ti.size
	ti.size = size
	if ti.elem == nil {
		ti.elem = c.lru.PushFront(ti)
	} else {
		c.lru.MoveToFront(ti.elem)
	}
	for c.used > c.budget {
		victim := c.lru.Back().Value.(*tenantIndex)
		c.forget(victim)
		// Out of the map: its next GET starts a fresh entry. Requests
		// holding the old one finish with it.
		delete(c.tenants, victim.repo)
	}
}

// forget uncharges ti; the caller holds c.mu.
func (c *indexCache) forget(ti *tenantIndex) {
	if ti.elem != nil {
		c.lru.Remove(ti.elem)
		ti.elem = nil
	}
	c.used -= ti.size
	ti.size = 0
}

// tenantOverhead approximates a kept tenant's fixed cost (map entries,
// headers, the entry itself), so many tiny tenants count too.
const tenantOverhead = 512

// size is what a rendering keeps in memory: the capacity of its slices,
// not only their length.
func (ri *renderedIndex) size() int64 {
	return int64(cap(ri.yaml)+cap(ri.yamlGz)+cap(ri.json)+cap(ri.jsonGz)+len(ri.etagYAML)+len(ri.etagJSON)) + tenantOverhead
}

// fragsSize is what the rendered fragments keep in memory: their bytes,
// their keys' strings and a map slot each.
func fragsSize(frags map[fragKey]index.Entry) int64 {
	var n int64
	for k, e := range frags {
		n += int64(cap(e.YAML)+cap(e.JSON)+len(e.Name)+len(e.Version)+len(k.name)+len(k.version)+len(k.digest)) + 96
	}
	return n
}

// get returns the tenant's current index.
func (c *indexCache) get(ctx context.Context, repo string) (*renderedIndex, error) {
	var writes int64
	if c.localWrites != nil {
		// Read before the generation, so a write landing in between is
		// seen by the next request.
		writes = c.localWrites.Load()
		if ti := c.lookup(repo, false); ti != nil {
			if cur := ti.current.Load(); cur != nil && cur.writes == writes && time.Since(cur.checked) < c.trust {
				c.s.metrics.ops.indexHits.Inc()
				return cur, nil
			}
		}
	}
	checked := time.Now()
	gen, err := c.s.meta.Generation(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("index generation: %w", err)
	}
	if gen == 0 {
		// No tenant yet: an empty index, stable across requests.
		return c.render(0, nil, c.s.started)
	}
	ti := c.lookup(repo, true)
	if cur := ti.current.Load(); cur != nil && cur.gen == gen {
		if c.localWrites != nil && (cur.writes != writes || checked.Sub(cur.checked) > c.trust/2) {
			// Same content, newer proof: remember it so the next GETs skip the read.
			cp := *cur
			cp.writes, cp.checked = writes, checked
			ti.current.CompareAndSwap(cur, &cp)
			c.s.metrics.ops.indexHits.Inc()
			return &cp, nil
		}
		c.s.metrics.ops.indexHits.Inc()
		return cur, nil
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if cur := ti.current.Load(); cur != nil && cur.gen == gen {
		c.s.metrics.ops.indexHits.Inc()
		return cur, nil
	}
	if sp := ti.spill.Value(); sp != nil && sp.gen == gen {
		c.s.metrics.ops.indexHits.Inc()
		return sp, nil
	}
	// The rows read below may be newer than gen if a write lands in
	// between; they are then labelled with the older gen and rebuilt once
	// more on the next GET. The index is never older than the generation
	// read at the start, which is what read-your-writes needs.
	c.s.metrics.ops.indexMisses.Inc()
	ri, frags, err := c.rebuild(ctx, repo, gen, ti)
	if err != nil {
		return nil, err
	}
	ri.writes, ri.checked = writes, checked
	c.keep(ti, ri, frags)
	return ri, nil
}

// rebuild renders the tenant's index at gen, reusing ti's fragments, and
// returns it with the fragments it used. The caller holds ti.mu.
func (c *indexCache) rebuild(ctx context.Context, repo string, gen int64, ti *tenantIndex) (*renderedIndex, map[fragKey]index.Entry, error) {
	t, err := c.s.meta.Tenant(ctx, repo)
	if errors.Is(err, storage.ErrNotFound) {
		ri, err := c.render(gen, nil, time.Now())
		return ri, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := c.s.meta.ChartVersions(ctx, t.ID, "")
	if err != nil {
		return nil, nil, fmt.Errorf("index rows: %w", err)
	}
	keys := make([]fragKey, len(rows))
	entries := make([]index.Entry, len(rows))
	errs := make([]error, len(rows))
	var missing []int
	for i := range rows {
		cv := &rows[i]
		keys[i] = fragKey{cv.Name, cv.Version, cv.Digest, cv.Created.UnixNano()}
		if f, ok := ti.frags[keys[i]]; ok {
			entries[i] = f
		} else {
			missing = append(missing, i)
		}
	}
	// Rendering is CPU-bound and per-entry independent; on a cold start
	// every entry is missing, so spread them over the cores, in batches
	// (index.NewEntries renders a batch at a fraction of the cost of its
	// versions one by one).
	const batch = 64
	batches := (len(missing) + batch - 1) / batch
	workers := min(runtime.GOMAXPROCS(0), batches)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := w; b < batches; b += workers {
				c.fragments(repo, rows, missing[b*batch:min((b+1)*batch, len(missing))], entries, errs)
			}
		}(w)
	}
	wg.Wait()
	frags := make(map[fragKey]index.Entry, len(rows))
	listed := make([]index.Entry, 0, len(rows))
	for i := range rows {
		if errs[i] != nil {
			// One bad row must not take the whole index down.
			c.s.log.WarnContext(ctx, "skipping chart version in index", "repo", repo,
				"chart", rows[i].Name, "version", rows[i].Version, "err", errs[i])
			continue
		}
		frags[keys[i]] = entries[i]
		listed = append(listed, entries[i])
	}
	// The caller keeps frags, which drops the fragments of deleted versions.
	ri, err := c.render(gen, listed, time.Now())
	return ri, frags, err
}

// fragments renders the index entries of rows[i] for i in which, in both
// encodings, into entries[i] or errs[i].
func (c *indexCache) fragments(repo string, rows []storage.ChartVersion, which []int, entries []index.Entry, errs []error) {
	cvs := make([]*index.ChartVersion, 0, len(which))
	at := make([]int, 0, len(which))
	for _, i := range which {
		cv, err := c.s.indexEntry(repo, &rows[i])
		if err != nil {
			errs[i] = err
			continue
		}
		cvs, at = append(cvs, cv), append(at, i)
	}
	es, ers := index.NewEntries(cvs)
	for n, i := range at {
		entries[i], errs[i] = es[n], ers[n]
	}
}

// render assembles the full documents from fragments; index orders them
// (names sorted, versions newest first, as Helm's SortEntries).
func (c *indexCache) render(gen int64, entries []index.Entry, generated time.Time) (*renderedIndex, error) {
	hdr := index.Header{
		APIVersion: "v1",
		Generated:  generated.UTC(),
		PublicKeys: c.s.policy.publicKeys(),
	}
	if c.s.cfg.ContextPath != "" {
		hdr.ServerInfo = map[string]interface{}{"contextPath": c.s.cfg.ContextPath}
	}
	// Sized up front, so the kept documents do not carry a growing
	// buffer's spare capacity (up to as much again).
	var yb, jb bytes.Buffer
	yn, jn := 1024, 1024
	for _, e := range entries {
		yn += len(e.YAML) + len(e.Name) + 8
		jn += len(e.JSON) + len(e.Name) + 16
	}
	// The two encodings are independent and each is assembled, compressed
	// and hashed on one core: side by side, a cold start's first GET
	// waits for the slower one only.
	ri := &renderedIndex{gen: gen, modified: generated}
	var jerr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		jb.Grow(jn)
		if jerr = index.RenderJSON(&jb, hdr, entries); jerr == nil {
			ri.json = jb.Bytes()
			ri.jsonGz, ri.etagJSON = gzipBytes(ri.json), etag(ri.json)
		}
	}()
	yb.Grow(yn)
	yerr := index.RenderYAML(&yb, hdr, entries)
	if yerr == nil {
		ri.yaml = yb.Bytes()
		ri.yamlGz, ri.etagYAML = gzipBytes(ri.yaml), etag(ri.yaml)
	}
	wg.Wait()
	if yerr != nil {
		return nil, yerr
	}
	if jerr != nil {
		return nil, jerr
	}
	return ri, nil
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	// BestSpeed: the index is rebuilt once per generation but a slow level
	// would put tens of milliseconds on the first GET after every upload.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	// The result is kept: without the buffer's spare capacity.
	return bytes.Clone(buf.Bytes())
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// indexEntry is the index face of a version row.
func (s *Server) indexEntry(repo string, cv *storage.ChartVersion) (*index.ChartVersion, error) {
	var md chart.Metadata
	if err := json.Unmarshal(cv.Metadata, &md); err != nil {
		return nil, fmt.Errorf("decode metadata of %s-%s: %w", cv.Name, cv.Version, err)
	}
	return &index.ChartVersion{
		Metadata: &md,
		URLs:     []string{s.chartURL(repo, chartFileName(cv.Name, cv.Version))},
		Created:  cv.Created,
		Digest:   cv.Digest.Encoded(),
	}, nil
}

// chartURL is relative ("charts/<file>") unless --chart-url asks for
// absolute URLs: <chart-url><context-path>/<repo>/charts/<file>.
func (s *Server) chartURL(repo, file string) string {
	if s.cfg.ChartURL == "" {
		return "charts/" + file
	}
	u := s.cfg.ChartURL + s.cfg.ContextPath
	if repo != "" {
		u += "/" + repo
	}
	return u + "/charts/" + file
}
