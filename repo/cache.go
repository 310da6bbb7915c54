package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/helmpath"
)

// indexAccept asks servers that can (chartd) for the JSON rendering of the
// index: Helm ≥ 3.13 reads it too, and it parses many times faster.
// (chartd serves JSON only when the Accept header does not mention YAML.)
const indexAccept = "application/json, */*;q=0.8"

// searchCacheVersion changes whenever the parsed-cache layout changes, so an
// old cache is rebuilt instead of misread. (3: index.Compact.)
const searchCacheVersion = 3

// Cache is Helm's repository cache directory ($HELM_REPOSITORY_CACHE).
type Cache struct {
	Dir    string
	Logger *slog.Logger
	// Open returns the fetcher for a repository; nil means HTTP(S) only.
	Open Opener
}

// IndexPath is <cache>/<name>-index.yaml, shared with real Helm.
func (c Cache) IndexPath(name string) string {
	return filepath.Join(c.Dir, helmpath.CacheIndexFile(name))
}

// ChartsPath is <cache>/<name>-charts.txt, shared with real Helm.
func (c Cache) ChartsPath(name string) string {
	return filepath.Join(c.Dir, helmpath.CacheChartsFile(name))
}

// ParsedPath is our compact parsed index, beside Helm's files. Real Helm
// ignores it; we trust it only while the digest of the index file matches.
func (c Cache) ParsedPath(name string) string {
	return filepath.Join(c.Dir, name+"-index.chartd.gob")
}

func (c Cache) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Update downloads the repository's index into the cache: the raw bytes as
// Helm stores them, the chart-name list, and the parsed cache.
func (c Cache) Update(ctx context.Context, e *Entry, timeout time.Duration) (*index.Compact, error) {
	opts := OptionsFor(e)
	opts.Timeout = timeout
	open := c.Open
	if open == nil {
		open = openHTTP
	}
	g, err := open(opts)
	if err != nil {
		return nil, err
	}
	u, err := ResolveReferenceURL(e.URL, "index.yaml")
	if err != nil {
		return nil, err
	}
	// Revalidate with the ETag remembered beside a cache that is still the
	// one we wrote: an unchanged index then costs one 304.
	prev, _ := c.loadParsed(e.Name)
	etag := ""
	if prev != nil && prev.URL == u {
		etag = prev.ETag
	}
	data, newETag, notModified, err := g.GetConditional(ctx, u, indexAccept, etag)
	if err != nil {
		return nil, err
	}
	if notModified {
		return prev.Index, nil
	}
	return c.store(e.Name, data, newETag, u)
}

// Put stores an index the client made itself (an OCI namespace's listing)
// under repository name, exactly as Update stores a downloaded one.
func (c Cache) Put(name string, data []byte) (*index.Compact, error) {
	return c.store(name, data, "", "")
}

// store writes the raw index as Helm stores it, the chart-name list, and
// the parsed cache.
func (c Cache) store(name string, data []byte, etag, u string) (*index.Compact, error) {
	idx, err := index.LoadCompact(data)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create repository cache: %w", err)
	}
	var names strings.Builder
	for _, n := range idx.Names() {
		names.WriteString(n)
		names.WriteByte('\n')
	}
	if err := WriteAtomic(c.ChartsPath(name), []byte(names.String()), 0o644); err != nil {
		return nil, err
	}
	if err := WriteAtomic(c.IndexPath(name), data, 0o644); err != nil {
		return nil, err
	}
	if err := c.writeParsed(name, parsedCache{Digest: sha256.Sum256(data), Index: idx, ETag: etag, URL: u}); err != nil {
		// The parsed cache is an optimisation: search rebuilds it.
		c.logger().Warn("cannot write parsed index cache", "repo", name, "err", err)
	}
	return idx, nil
}

type parsedCache struct {
	Version int
	// Digest is the sha256 of the index file the cache was parsed from.
	Digest [32]byte
	Index  *index.Compact
	// ETag and URL are the server's validator for the index, when it gave one.
	ETag, URL string
}

func (c Cache) writeParsed(name string, pc parsedCache) error {
	pc.Version = searchCacheVersion
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(pc); err != nil {
		return fmt.Errorf("encode parsed index: %w", err)
	}
	return WriteAtomic(c.ParsedPath(name), buf.Bytes(), 0o644)
}

// Load returns the cached index of repository name. It streams the index
// file through sha256 (cheap, constant memory) and, when the parsed cache
// carries that digest, decodes the compact cache instead of re-parsing the
// index; otherwise (real Helm updated the file, or no cache yet) it parses
// the index and refreshes the parsed cache.
func (c Cache) Load(name string) (*index.Compact, error) {
	pc, err := c.loadParsed(name)
	if err != nil {
		return nil, err
	}
	if pc != nil {
		return pc.Index, nil
	}
	data, err := os.ReadFile(c.IndexPath(name))
	if err != nil {
		return nil, err
	}
	idx, err := index.LoadCompact(data)
	if err != nil {
		return nil, err
	}
	if err := c.writeParsed(name, parsedCache{Digest: sha256.Sum256(data), Index: idx}); err != nil {
		c.logger().Debug("cannot refresh parsed index cache", "repo", name, "err", err)
	}
	return idx, nil
}

// loadParsed returns the parsed cache of name when it matches the index
// file's current digest, nil when it is missing or stale, and an error
// only when the index file itself cannot be read.
func (c Cache) loadParsed(name string) (*parsedCache, error) {
	f, err := os.Open(c.IndexPath(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.IndexPath(name), err)
	}
	var digest [32]byte
	copy(digest[:], h.Sum(nil))
	pf, err := os.Open(c.ParsedPath(name))
	if err != nil {
		return nil, nil
	}
	defer pf.Close()
	var pc parsedCache
	if err := gob.NewDecoder(pf).Decode(&pc); err != nil || pc.Version != searchCacheVersion || pc.Digest != digest || pc.Index == nil {
		return nil, nil
	}
	if pc.Index.Entries == nil {
		pc.Index.Entries = map[string][]*index.Summary{}
	}
	return &pc, nil
}

// Remove deletes a repository's cache files.
func (c Cache) Remove(name string) error {
	for _, p := range []string{c.ChartsPath(name), c.ParsedPath(name), c.IndexPath(name)} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("can't remove index file %s: %w", p, err)
		}
	}
	return nil
}

// Prune deletes parsed caches whose index file is gone: real Helm removes
// a repository's index and chart list but does not know about our file.
func (c Cache) Prune() error {
	matches, err := filepath.Glob(filepath.Join(c.Dir, "*-index.chartd.gob"))
	if err != nil {
		return err
	}
	for _, m := range matches {
		idx := strings.TrimSuffix(m, ".chartd.gob") + ".yaml"
		if _, err := os.Stat(idx); os.IsNotExist(err) {
			if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("prune %s: %w", m, err)
			}
		}
	}
	return nil
}
