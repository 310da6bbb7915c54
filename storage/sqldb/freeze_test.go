package sqldb_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// freezer is a TCP proxy in front of PostgreSQL that can stop passing
// bytes on, as a SIGSTOPped server or a network partition does: the
// connections stay open, what is sent is accepted, and nothing answers.
// Unlike a stopped server it is not a refused connection, which the
// driver reports at once.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	thawed chan struct{} // closed while bytes flow
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thawed: make(chan struct{})}
	close(f.thawed)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); f.thaw(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						<-f.gate()
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			wg.Go(func() { pipe(s, c) })
			wg.Go(func() { pipe(c, s) })
		}
	})
	return f
}

func (f *freezer) gate() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.thawed
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.thawed = make(chan struct{})
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.thawed:
	default:
		close(f.thawed)
	}
}

// dsn is dsn with its server replaced by the proxy.
func (f *freezer) dsn(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = f.ln.Addr().String()
	return u.String()
}

// TestFrozenDatabase holds PostgreSQL's answers back while chartd's
// database is in use: every call fails within the bound as unavailable
// (503 with Retry-After), a caller that gives up first is told it gave up
// (not an outage), a write cut off leaves nothing of itself, and once the
// server answers again the same pool serves, without reopening.
func TestFrozenDatabase(t *testing.T) {
	const bound = 300 * time.Millisecond
	// Generous for a loaded machine; the point is "answered", not "fast".
	const slack = 3 * time.Second
	admin := pgtest.DSN(t)
	u, _ := url.Parse(admin)
	f := newFreezer(t, u.Host)
	ctx := context.Background()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqldb.Open(ctx, f.dsn(t, admin), testLogger(t), sqldb.WithBlobStater(blobs), sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{name: "postgres", dsn: admin, db: db, blobs: blobs}
	tn := e.tenant(t, "t")
	before := e.chart(t, tn.ID, "app", "1.0.0", "")
	if err := e.put(ctx, before, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cut := e.chart(t, tn.ID, "app", "2.0.0", "")

	f.freeze()
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"read", func(ctx context.Context) error { _, err := db.Generation(ctx, "t"); return err }},
		{"list", func(ctx context.Context) error { _, err := db.Tenants(ctx); return err }},
		{"write", func(ctx context.Context) error { return e.put(ctx, cut, storage.PutOptions{}) }},
	} {
		t.Run(tc.name+"/deadline", func(t *testing.T) {
			start := time.Now()
			err := tc.call(ctx)
			took := time.Since(start)
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("after %v: %v; want storage.ErrUnavailable", took, err)
			}
			if took < bound || took > bound+slack {
				t.Errorf("answered after %v; want between %v and %v", took, bound, bound+slack)
			}
			t.Logf("unavailable after %v", took.Round(time.Millisecond))
		})
		t.Run(tc.name+"/client gone", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(bound/4, cancel)
			err := tc.call(cctx)
			if errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Fatalf("%v; want context.Canceled, not an outage", err)
			}
		})
	}
	f.thaw()

	// Recovery: the pool dropped the connections that were cut off, and
	// the next calls go through on new ones.
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := db.Generation(ctx, "t")
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("still failing 10s after the server answers again: %v", err)
		}
		<-tick.C
	}
	t.Logf("served again %v after the thaw", time.Since(start).Round(time.Millisecond))
	// The write whose answer never came is whole or absent: the bytes it
	// sent before the freeze reach the server at the thaw, as they would
	// a SIGCONTed one, and PostgreSQL commits a transaction or nothing.
	got, err := db.ChartVersion(ctx, tn.ID, "app", "2.0.0")
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		t.Fatal(err)
	case got.Digest != cut.Digest || got.ManifestDigest != cut.ManifestDigest:
		t.Errorf("the cut-off write is half there: %+v", got)
	}
	// And writes work again.
	if err := e.put(ctx, e.chart(t, tn.ID, "app", "3.0.0", ""), storage.PutOptions{}); err != nil {
		t.Fatalf("write after the thaw: %v", err)
	}
}

// slowStater is a bucket that answers after the database's bound.
type slowStater struct {
	storage.Stater
	delay time.Duration
}

func (s slowStater) Stat(ctx context.Context, d digest.Digest) (storage.Descriptor, error) {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return storage.Descriptor{}, ctx.Err()
	}
	return s.Stater.Stat(ctx, d)
}

// A write transaction whose deadline passes between its statements (here
// while it checks the bucket) is rolled back whole, and the caller is told
// the database did not answer in time, not handed database/sql's "already
// committed or rolled back".
func TestDeadlineBetweenStatements(t *testing.T) {
	const bound = 200 * time.Millisecond
	ctx := context.Background()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqldb.Open(ctx, pgtest.DSN(t), testLogger(t),
		sqldb.WithBlobStater(slowStater{blobs, 3 * bound}), sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{name: "postgres", db: db, blobs: blobs}
	tn := e.tenant(t, "t")
	cv := e.chart(t, tn.ID, "app", "1.0.0", "")
	err = e.put(ctx, cv, storage.PutOptions{})
	if !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put past its deadline: %v; want storage.ErrUnavailable from the deadline", err)
	}
	if _, err := db.ChartVersion(ctx, tn.ID, "app", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the rolled-back put left its chart version: %v", err)
	}
}
