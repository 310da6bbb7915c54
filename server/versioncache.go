package server

import (
	"context"
	"sync"
)

// versionCache keeps each chart's version names, sorted newest first by
// semver, under its repository path's generation, which every write to the
// path bumps (the validity the index cache relies on too). A page of charts,
// a page of one chart's versions and "latest" then read a chart's names and
// sort them once per change, not on every request: at 10,000 versions a
// page costs its rows.
type versionCache struct {
	mu    sync.Mutex
	m     map[versionKey]sortedNames
	names int // held over all entries, at most versionCacheNames
}

type versionKey struct {
	tenantID int64
	name     string
}

type sortedNames struct {
	generation int64
	names      []string // newest first; shared, never modified
}

// versionCacheNames bounds the names held (some tens of MB at most); past
// it the cache starts over, which costs a read per chart, never a wrong
// answer.
const versionCacheNames = 1 << 20

// sortedVersions returns a chart's version names newest first, from the
// cache when they were read at generation, the path's generation as the
// caller read it before. A write in between bumps the generation, so an
// entry is only ever newer than its generation says, and is then missed.
// The slice is shared: callers must not modify it.
func (s *Server) sortedVersions(ctx context.Context, b browser, tenantID, generation int64, name string) ([]string, error) {
	c, k := &s.versions, versionKey{tenantID, name}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && e.generation == generation {
		return e.names, nil
	}
	names, err := b.VersionNames(ctx, tenantID, name)
	if err != nil {
		return nil, err
	}
	names = sortedVersionNames(names)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.names+len(names) > versionCacheNames {
		c.m, c.names = map[versionKey]sortedNames{}, 0
	}
	c.names += len(names) - len(c.m[k].names)
	c.m[k] = sortedNames{generation: generation, names: names}
	return names, nil
}
