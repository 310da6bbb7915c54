package server

import (
	"bytes"
	"compress/gzip"
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

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// indexCache keeps, per tenant, the rendered index bytes (YAML, JSON and
// their gzip forms) under the tenant's generation. A GET costs one cheap
// generation read; a rebuild happens once per generation and re-renders only
// the versions it has not rendered before, so index work never grows with
// the number of uploads between two GETs, and start-up does no index work.
type indexCache struct {
	s  *Server
	mu sync.Mutex
	// tenants holds only tenants that exist in the database, so GETs of
	// made-up tenant paths cannot grow it.
	tenants map[string]*tenantIndex
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
	mu      sync.Mutex // one rebuild at a time per tenant
	current atomic.Pointer[renderedIndex]
	frags   map[fragKey]index.Entry
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
	return &indexCache{s: s, tenants: map[string]*tenantIndex{}, trust: localTrust}
}

// get returns the tenant's current index.
func (c *indexCache) get(ctx context.Context, repo string) (*renderedIndex, error) {
	var writes int64
	if c.localWrites != nil {
		// Read before the generation, so a write landing in between is
		// seen by the next request.
		writes = c.localWrites.Load()
		c.mu.Lock()
		ti := c.tenants[repo]
		c.mu.Unlock()
		if ti != nil {
			if cur := ti.current.Load(); cur != nil && cur.writes == writes && time.Since(cur.checked) < c.trust {
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
	c.mu.Lock()
	ti := c.tenants[repo]
	if ti == nil {
		ti = &tenantIndex{frags: map[fragKey]index.Entry{}}
		c.tenants[repo] = ti
	}
	c.mu.Unlock()
	if cur := ti.current.Load(); cur != nil && cur.gen == gen {
		if c.localWrites != nil && (cur.writes != writes || checked.Sub(cur.checked) > c.trust/2) {
			// Same content, newer proof: remember it so the next GETs skip the read.
			cp := *cur
			cp.writes, cp.checked = writes, checked
			ti.current.CompareAndSwap(cur, &cp)
			return &cp, nil
		}
		return cur, nil
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if cur := ti.current.Load(); cur != nil && cur.gen == gen {
		return cur, nil
	}
	// The rows read below may be newer than gen if a write lands in
	// between; they are then labelled with the older gen and rebuilt once
	// more on the next GET. The index is never older than the generation
	// read at the start, which is what read-your-writes needs.
	ri, err := c.rebuild(ctx, repo, gen, ti)
	if err != nil {
		return nil, err
	}
	ri.writes, ri.checked = writes, checked
	ti.current.Store(ri)
	return ri, nil
}

func (c *indexCache) rebuild(ctx context.Context, repo string, gen int64, ti *tenantIndex) (*renderedIndex, error) {
	t, err := c.s.meta.Tenant(ctx, repo)
	if errors.Is(err, storage.ErrNotFound) {
		return c.render(gen, nil, time.Now())
	}
	if err != nil {
		return nil, err
	}
	rows, err := c.s.meta.ChartVersions(ctx, t.ID, "")
	if err != nil {
		return nil, fmt.Errorf("index rows: %w", err)
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
	// every entry is missing, so spread them over the cores.
	workers := min(runtime.GOMAXPROCS(0), len(missing))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := w; j < len(missing); j += workers {
				i := missing[j]
				entries[i], errs[i] = c.fragment(repo, &rows[i])
			}
		}(w)
	}
	wg.Wait()
	frags := make(map[fragKey]index.Entry, len(rows))
	list := make([]index.Entry, 0, len(rows))
	for i := range rows {
		if errs[i] != nil {
			// One bad row must not take the whole index down.
			c.s.log.WarnContext(ctx, "skipping chart version in index", "repo", repo,
				"chart", rows[i].Name, "version", rows[i].Version, "err", errs[i])
			continue
		}
		frags[keys[i]] = entries[i]
		list = append(list, entries[i])
	}
	ti.frags = frags // drop fragments of deleted versions
	return c.render(gen, list, time.Now())
}

// fragment renders one version's index entry in both encodings.
func (c *indexCache) fragment(repo string, cv *storage.ChartVersion) (index.Entry, error) {
	e, err := c.s.indexEntry(repo, cv)
	if err != nil {
		return index.Entry{}, err
	}
	return index.NewEntry(e)
}

// render assembles the full documents from fragments; index orders them
// (names sorted, versions newest first, as Helm's SortEntries).
func (c *indexCache) render(gen int64, list []index.Entry, generated time.Time) (*renderedIndex, error) {
	hdr := index.Header{
		APIVersion: "v1",
		Generated:  generated.UTC(),
		PublicKeys: c.s.policy.publicKeys(),
	}
	if c.s.cfg.ContextPath != "" {
		hdr.ServerInfo = map[string]interface{}{"contextPath": c.s.cfg.ContextPath}
	}
	var yb, jb bytes.Buffer
	if err := index.RenderYAML(&yb, hdr, list); err != nil {
		return nil, err
	}
	if err := index.RenderJSON(&jb, hdr, list); err != nil {
		return nil, err
	}
	ri := &renderedIndex{gen: gen, yaml: yb.Bytes(), json: jb.Bytes(), modified: generated}
	ri.yamlGz, ri.jsonGz = gzipBytes(ri.yaml), gzipBytes(ri.json)
	ri.etagYAML, ri.etagJSON = etag(ri.yaml), etag(ri.json)
	return ri, nil
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	// BestSpeed: the index is rebuilt once per generation but a slow level
	// would put tens of milliseconds on the first GET after every upload.
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
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
