package server

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// indexCache keeps, per tenant, the rendered index documents (YAML, JSON
// and their gzip forms) under the tenant's generation. A GET costs one
// cheap generation read; a rebuild happens once per generation and renders
// only the versions it has not rendered before, so index work never grows
// with the number of uploads between two GETs.
//
// Every rendering is written to the index directory (indexfiles.go), and a
// rebuild reuses the previous rendering's bytes from its files, so a
// restart renders nothing and memory does not hold a large tenant's
// versions. Small renderings are also kept in memory, within one byte
// budget over all tenants (--index-cache-size): tenants are dropped least
// recently used first, and read back from their files on their next GET.
type indexCache struct {
	s  *Server
	mu sync.Mutex
	// root is the index directory; dir, once known, is root/<render key>.
	root, dir string
	// tenants holds only tenants that exist in the database, so GETs of
	// made-up tenant paths cannot grow it.
	tenants map[string]*tenantIndex
	// lru orders the kept tenants, most recently used first; used is what
	// they are charged, at most budget.
	lru          *list.List
	used, budget int64
	// empty is the index of a tenant that does not exist (yet).
	empty atomic.Pointer[renderedIndex]
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
	// Guarded by indexCache.mu: the tenant's place in the LRU and the
	// bytes it is charged.
	elem *list.Element
	size int64
}

// fragKey identifies a rendered version entry; anything that changes its
// bytes changes the key.
type fragKey struct {
	name, version string
	digest        string
	created       int64
}

func rowKey(cv *storage.ChartVersion) fragKey {
	return fragKey{cv.Name, cv.Version, cv.Digest.String(), cv.Created.UnixNano()}
}

// renderedIndex is one generation of a tenant's index, in every encoding.
type renderedIndex struct {
	gen                int64
	writes             int64     // localWrites when last proven current
	checked            time.Time // when gen was last read from the database
	docs               [4]indexDoc
	etagYAML, etagJSON string
	modified           time.Time

	// The response headers, made once (withHeaders); never modified.
	headers                          [4]formHeaders
	lastModified, vary, cacheControl []string
}

// formHeaders are the header values of one document.
type formHeaders struct {
	contentType, contentEncoding, contentLength, etag []string
}

// withHeaders makes ri's response header values and returns ri.
func (ri *renderedIndex) withHeaders() *renderedIndex {
	ri.lastModified = []string{ri.modified.UTC().Format(http.TimeFormat)}
	ri.vary = []string{"Accept, Accept-Encoding"}
	ri.cacheControl = []string{"no-cache"}
	gz := []string{"gzip"}
	for i := range ri.headers {
		fh := &ri.headers[i]
		tag, ctype := ri.etagYAML, "application/x-yaml"
		if i == formJSON || i == formJSONGz {
			tag, ctype = ri.etagJSON, "application/json"
		}
		if i == formYAMLGz || i == formJSONGz {
			tag = strings.TrimSuffix(tag, `"`) + `-gzip"`
			fh.contentEncoding = gz
		}
		fh.contentType, fh.etag = []string{ctype}, []string{tag}
		fh.contentLength = []string{strconv.FormatInt(ri.docs[i].size, 10)}
	}
	return ri
}

func newIndexCache(s *Server) *indexCache {
	c := &indexCache{s: s, root: s.cfg.indexDir(), tenants: map[string]*tenantIndex{}, lru: list.New(),
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

// directory returns root/<render key>, made on first use: the key needs
// the database's identity, which needs a context.
func (c *indexCache) directory(ctx context.Context) (string, error) {
	c.mu.Lock()
	dir := c.dir
	c.mu.Unlock()
	if dir != "" {
		return dir, nil
	}
	var dbID string
	if d, ok := c.s.meta.(interface {
		DatabaseID(context.Context) (string, error)
	}); ok {
		id, err := d.DatabaseID(ctx)
		if err != nil {
			return "", fmt.Errorf("index directory: %w", err)
		}
		dbID = id
	}
	key := renderKey(dbID, c.s.cfg.ChartURL, c.s.cfg.ContextPath, c.s.policy.publicKeys())
	dir = filepath.Join(c.root, key)
	if err := ensureDir(dir); err != nil {
		return "", err
	}
	pruneRenderKeys(c.root, key)
	c.mu.Lock()
	c.dir = dir
	c.mu.Unlock()
	return dir, nil
}

// lookup returns the tenant's entry, marking it recently used.
func (c *indexCache) lookup(repo string, create bool) *tenantIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	ti := c.tenants[repo]
	if ti == nil && create {
		ti = &tenantIndex{repo: repo}
		c.tenants[repo] = ti
	}
	if ti != nil && ti.elem != nil {
		c.lru.MoveToFront(ti.elem)
	}
	return ti
}

// keep makes a rendering the tenant's current one and charges its
// in-memory bytes to the budget, dropping least recently used tenants to
// make room. The caller holds ti.mu.
func (c *indexCache) keep(ti *tenantIndex, ri *renderedIndex) {
	size := ri.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants[ti.repo] != ti {
		return // dropped while it was rebuilt: this request is served, nothing kept
	}
	ti.current.Store(ri)
	c.used += size - ti.size
	ti.size = size
	if ti.elem == nil {
		ti.elem = c.lru.PushFront(ti)
	} else {
		c.lru.MoveToFront(ti.elem)
	}
	for c.used > c.budget && c.lru.Len() > 0 {
		victim := c.lru.Back().Value.(*tenantIndex)
		c.forget(victim)
		// Out of the map: its next GET starts a fresh entry, read from
		// its files. Requests holding the old one finish with it.
		delete(c.tenants, victim.repo)
	}
}

// drop forgets the tenant's rendering, so its next GET reads its files
// again (one of them was found missing).
func (c *indexCache) drop(repo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ti := c.tenants[repo]; ti != nil {
		c.forget(ti)
		delete(c.tenants, repo)
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
	n := int64(len(ri.etagYAML)+len(ri.etagJSON)) + tenantOverhead
	for _, d := range ri.docs {
		n += int64(cap(d.mem))
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
		return c.emptyIndex()
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
	// The rows read below may be newer than gen if a write lands in
	// between; they are then labelled with the older gen and rebuilt once
	// more on the next GET. The index is never older than the generation
	// read at the start, which is what read-your-writes needs.
	tdir := ""
	if dir, err := c.directory(ctx); err != nil {
		c.s.log.WarnContext(ctx, "index directory unusable; rendering in memory", "err", err)
	} else {
		tdir = c.tenantDir(dir, repo)
	}
	var ri *renderedIndex
	if m, ok := loadMeta(tdir, gen); ok {
		if ri, err = c.fromMeta(tdir, m); err != nil {
			c.s.log.WarnContext(ctx, "index: a kept rendering is unusable; rendering again", "repo", repo, "err", err)
		}
	}
	if ri != nil {
		c.s.metrics.ops.indexHits.Inc()
	} else {
		c.s.metrics.ops.indexMisses.Inc()
		if ri, err = c.rebuild(ctx, repo, gen, tdir); err != nil {
			return nil, err
		}
	}
	ri.writes, ri.checked = writes, checked
	c.keep(ti, ri)
	return ri, nil
}

// fromMeta describes the rendering m in dir, reading its documents into
// memory when they are small enough (and checking the identity forms'
// hashes on the way: a file is never trusted blind into memory).
func (c *indexCache) fromMeta(dir string, m indexMeta) (*renderedIndex, error) {
	ri := &renderedIndex{gen: m.Gen, etagYAML: m.ETagYAML, etagJSON: m.ETagJSON, modified: m.Modified}
	var total int64
	for i, ext := range indexForms {
		ri.docs[i] = indexDoc{path: m.file(dir, ext), size: m.Sizes[i]}
		total += m.Sizes[i]
	}
	if total > memIndexLimit || total > c.budget/4 {
		for i := range ri.docs {
			ri.docs[i].mapped = &mappedDoc{}
		}
		return ri.withHeaders(), nil
	}
	for i := range ri.docs {
		b, err := os.ReadFile(ri.docs[i].path)
		if err != nil || int64(len(b)) != ri.docs[i].size {
			return nil, fmt.Errorf("%w: reading %s: size %d, want %d: %v", errIndexDir, ri.docs[i].path, len(b), ri.docs[i].size, err)
		}
		ri.docs[i].mem = b
	}
	if etag(ri.docs[formYAML].mem) != m.ETagYAML || etag(ri.docs[formJSON].mem) != m.ETagJSON {
		return nil, fmt.Errorf("%w: %s-%s does not match its hash", errIndexDir, strconv.FormatInt(m.Gen, 10), m.Writer)
	}
	return ri.withHeaders(), nil
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

// header is the index's header as this server writes it.
func (c *indexCache) header(generated time.Time) index.Header {
	hdr := index.Header{
		APIVersion: "v1",
		Generated:  generated.UTC(),
		PublicKeys: c.s.policy.publicKeys(),
	}
	if c.s.cfg.ContextPath != "" {
		hdr.ServerInfo = map[string]interface{}{"contextPath": c.s.cfg.ContextPath}
	}
	return hdr
}

// write renders entries (with their keys) into dir as generation gen: the
// four documents, where each version went, and last the description that
// makes them a rendering. The two encodings are independent and each is
// assembled, compressed and hashed on one core, side by side.
func (c *indexCache) write(dir string, gen int64, entries []index.Entry, keys []fragKey, generated time.Time) (indexMeta, error) {
	hdr := c.header(generated)
	m := indexMeta{Gen: gen, Modified: generated, Writer: newWriterID(), Entries: len(entries)}
	base := filepath.Join(dir, fmt.Sprintf("%d-%s", gen, m.Writer))
	spans := make([]span, len(entries))
	for i, k := range keys {
		spans[i] = span{Name: k.name, Version: k.version, Digest: k.digest, Created: k.created}
	}
	yw, err := newDocWriter(dir)
	if err != nil {
		return m, fmt.Errorf("%w: %w", errIndexDir, err)
	}
	jw, err := newDocWriter(dir)
	if err != nil {
		yw.abort()
		return m, fmt.Errorf("%w: %w", errIndexDir, err)
	}
	var jerr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		jerr = index.RenderJSONPlaced(jw.w, hdr, entries, func(i int, off int64) {
			spans[i].JSON = [2]int64{off, int64(len(entries[i].JSON))}
		})
		if jerr == nil {
			m.Sizes[formJSON], m.Sizes[formJSONGz], m.ETagJSON, jerr = jw.finish(base + ".json")
		} else {
			jw.abort()
		}
	}()
	yerr := index.RenderYAMLPlaced(yw.w, hdr, entries, func(i int, off int64) {
		spans[i].YAML = [2]int64{off, int64(len(entries[i].YAML))}
	})
	if yerr == nil {
		m.Sizes[formYAML], m.Sizes[formYAMLGz], m.ETagYAML, yerr = yw.finish(base + ".yaml")
	} else {
		yw.abort()
	}
	wg.Wait()
	if err := errors.Join(yerr, jerr); err != nil {
		return m, asDirError(err)
	}
	err = writeFileAtomic(base+".spans", func(w io.Writer) error { return writeSpans(w, spans) })
	if err == nil {
		var b []byte
		b, _ = json.Marshal(m)
		err = writeFileAtomic(base+".meta", func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	if err != nil {
		return m, fmt.Errorf("%w: %w", errIndexDir, err)
	}
	return m, nil
}

// emptyIndex is the index of a tenant with nothing in it, made once, in
// memory only.
func (c *indexCache) emptyIndex() (*renderedIndex, error) {
	if ri := c.empty.Load(); ri != nil {
		return ri, nil
	}
	ri, err := c.inMemory(0, nil, c.s.started)
	if err != nil {
		return nil, err
	}
	c.empty.Store(ri)
	return ri, nil
}

// inMemory renders entries into memory only: the empty index, and any
// index while the index directory cannot be written.
func (c *indexCache) inMemory(gen int64, entries []index.Entry, generated time.Time) (*renderedIndex, error) {
	hdr := c.header(generated)
	var yb, jb bytes.Buffer
	if err := index.RenderYAML(&yb, hdr, entries); err != nil {
		return nil, err
	}
	if err := index.RenderJSON(&jb, hdr, entries); err != nil {
		return nil, err
	}
	ri := &renderedIndex{gen: gen, modified: generated, etagYAML: etag(yb.Bytes()), etagJSON: etag(jb.Bytes())}
	for i, b := range [4][]byte{yb.Bytes(), gzipBytes(yb.Bytes()), jb.Bytes(), gzipBytes(jb.Bytes())} {
		ri.docs[i] = indexDoc{size: int64(len(b)), mem: b}
	}
	return ri.withHeaders(), nil
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := newIndexGzip(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return bytes.Clone(buf.Bytes())
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return etagOf(sum[:])
}

// etagOf is the ETag of a document whose SHA-256 is sum.
func etagOf(sum []byte) string {
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
