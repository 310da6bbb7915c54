package server

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// versionKeyer lists a tenant's versions by what identifies their index
// entries, without the rest of their rows (sqldb.DB does): a rebuild that
// reuses a previous rendering then reads only its new rows whole.
type versionKeyer interface {
	ChartVersionKeys(ctx context.Context, tenantID int64) ([]storage.VersionKey, error)
}

// errGone marks a row deleted between listing its key and reading it: the
// index simply does not list it.
var errGone = errors.New("index: version deleted while the index was rebuilt")

// rebuild renders the tenant's index at gen into dir, reusing the bytes of
// the newest older rendering there. Should the directory fail it (full,
// read-only, or dir is ""), the index is rendered in memory instead: a
// disk problem costs memory and a warning, never the index.
func (c *indexCache) rebuild(ctx context.Context, repo string, gen int64, dir string) (*renderedIndex, error) {
	if dir != "" {
		if err := ensureDir(dir); err != nil {
			c.s.log.WarnContext(ctx, "index directory unusable; rendering in memory", "err", err)
			dir = ""
		}
	}
	prev := c.previous(ctx, dir, gen)
	defer prev.release()
	var rows []storage.ChartVersion
	var entries []index.Entry
	var errs []error
	var todo []int
	t, err := c.s.meta.Tenant(ctx, repo)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if rows, entries, errs, todo, err = c.load(ctx, t.ID, prev); err != nil {
			return nil, fmt.Errorf("index rows: %w", err)
		}
	}
	// Rendering is CPU-bound and per-entry independent; on a first start
	// every entry is missing, so spread them over the cores, in batches
	// (index.NewEntries renders a batch at a fraction of the cost of its
	// versions one by one).
	const batch = 64
	batches := (len(todo) + batch - 1) / batch
	workers := min(runtime.GOMAXPROCS(0), batches)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := w; b < batches; b += workers {
				c.fragments(repo, rows, todo[b*batch:min((b+1)*batch, len(todo))], entries, errs)
			}
		}(w)
	}
	wg.Wait()
	listed := make([]index.Entry, 0, len(rows))
	keys := make([]fragKey, 0, len(rows))
	// generated is the upload time of the newest version listed, not the
	// time of rendering: the same content then renders to the same bytes,
	// and the same ETag, on every replica and after every restart, so a
	// client revalidates against any of them. (A deletion can move it
	// back; nothing reads it as a clock, and the ETag still changes.)
	// An index with no versions says when this process started.
	var generated time.Time
	for i := range rows {
		if errors.Is(errs[i], errGone) {
			continue
		}
		if errs[i] != nil {
			// One bad row must not take the whole index down.
			c.s.log.WarnContext(ctx, "skipping chart version in index", "repo", repo,
				"chart", rows[i].Name, "version", rows[i].Version, "err", errs[i])
			continue
		}
		listed = append(listed, entries[i])
		keys = append(keys, rowKey(&rows[i]))
		if rows[i].Created.After(generated) {
			generated = rows[i].Created
		}
	}
	if generated.IsZero() {
		generated = c.s.started
	}
	if dir != "" {
		ri, err := c.written(dir, gen, listed, keys, generated)
		if err == nil {
			return ri, nil
		}
		if !errors.Is(err, errIndexDir) {
			return nil, err // the rendering itself failed
		}
		c.s.log.WarnContext(ctx, "index directory unusable; rendering in memory", "repo", repo, "err", err)
	}
	return c.inMemory(gen, listed, generated)
}

// load reads the tenant's versions: rows (whole where they must be
// rendered, their keys alone where prev holds their entries), the entries
// taken from prev, and the rows left to render.
func (c *indexCache) load(ctx context.Context, tenantID int64, prev *previous) (rows []storage.ChartVersion, entries []index.Entry, errs []error, todo []int, err error) {
	if vk, ok := c.s.meta.(versionKeyer); ok && prev.spans != nil {
		keys, err := vk.ChartVersionKeys(ctx, tenantID)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		rows = make([]storage.ChartVersion, len(keys))
		for i, k := range keys {
			rows[i] = storage.ChartVersion{TenantID: tenantID, Name: k.Name, Version: k.Version, Digest: k.Digest, Created: k.Created}
		}
		entries, errs, todo = prev.reuse(rows)
		// One query for all beats one per row once many are new (a
		// first rebuild after a change of configuration).
		if len(todo) <= max(len(keys)/8, 16) {
			for _, i := range todo {
				cv, err := c.s.meta.ChartVersion(ctx, tenantID, rows[i].Name, rows[i].Version)
				switch {
				case errors.Is(err, storage.ErrNotFound):
					errs[i] = errGone
				case err != nil:
					return nil, nil, nil, nil, err
				default:
					rows[i] = cv
				}
			}
			return rows, entries, errs, todo, nil
		}
	}
	if rows, err = c.s.meta.ChartVersions(ctx, tenantID, ""); err != nil {
		return nil, nil, nil, nil, err
	}
	entries, errs, todo = prev.reuse(rows)
	return rows, entries, errs, todo, nil
}

// written writes a rendering into dir, prunes the older ones, and reads it
// back as the cache keeps it.
func (c *indexCache) written(dir string, gen int64, entries []index.Entry, keys []fragKey, generated time.Time) (*renderedIndex, error) {
	m, err := c.write(dir, gen, entries, keys, generated)
	if err != nil {
		return nil, err
	}
	pruneTenantDir(dir, m)
	return c.fromMeta(dir, m)
}

// previous is the newest older rendering a rebuild reuses: where each
// version's bytes are, and its two documents, mapped. A zero previous
// holds nothing.
type previous struct {
	spans   map[fragKey]span
	y, j    []byte
	release func()
}

// entry is the entry of version k in the previous rendering, if it has it.
func (p *previous) entry(k fragKey) (index.Entry, bool) {
	s, ok := p.spans[k]
	if !ok {
		return index.Entry{}, false
	}
	return spanEntry(s, p.y, p.j)
}

// reuse takes from p the entry of every row it holds unchanged, and
// returns the entries, room for each row's error, and the rows left to
// render.
func (p *previous) reuse(rows []storage.ChartVersion) (entries []index.Entry, errs []error, todo []int) {
	entries, errs = make([]index.Entry, len(rows)), make([]error, len(rows))
	for i := range rows {
		if e, ok := p.entry(rowKey(&rows[i])); ok {
			entries[i] = e
		} else {
			todo = append(todo, i)
		}
	}
	return entries, errs, todo
}

// previous finds and maps the newest rendering in dir older than gen.
func (c *indexCache) previous(ctx context.Context, dir string, gen int64) *previous {
	none := &previous{release: func() {}}
	if dir == "" {
		return none
	}
	m, ok := newestBefore(dir, gen)
	if !ok {
		return none
	}
	spans, err := readSpans(m.file(dir, "spans"))
	if err != nil {
		c.s.log.WarnContext(ctx, "index: cannot reuse the previous rendering", "err", err)
		return none
	}
	y, unmapY, err := mapFile(m.file(dir, "yaml"))
	if err != nil {
		return none
	}
	j, unmapJ, err := mapFile(m.file(dir, "json"))
	if err != nil {
		unmapY()
		return none
	}
	return &previous{spans: spans, y: y, j: j, release: func() { unmapY(); unmapJ() }}
}
