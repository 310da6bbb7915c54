package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// A store knows its own metadata (design invariant 7). The bucket and the
// database each record the store's identity; an embedded database keeps a
// journal of what it knows in the bucket and holds the store's lease, so:
//
//   - a database that belongs to another store is refused;
//   - a fresh embedded database over a full bucket is rebuilt from the
//     journal, never served empty (which would also let GC reclaim every
//     blob as unreferenced);
//   - an embedded database that another one has written past is refused
//     as stale;
//   - a second process on one embedded database (the lock file) or on one
//     store with another embedded database (the lease) is refused.
//
// A shared database (PostgreSQL) is itself the durable truth that every
// replica reads: it keeps no journal, marks the store as its own, and
// refuses to start while an embedded database holds the store.

// defaultDataDir holds the database and the files of the default store when
// --data-dir is not given and the store is not local files.
const defaultDataDir = "data"

// leaseTTL is how long a store's lease outlives its last renewal: the wait a
// restarted pod on another host may face after a crash.
const leaseTTL = 30 * time.Second

// journalFlushInterval is how often notes left by a failed journal write are
// retried when no commit comes along to carry them.
const journalFlushInterval = 5 * time.Second

// ErrStoreIdentity: the store and the database do not belong together.
var ErrStoreIdentity = errors.New("store and database do not match")

func (c *Config) dataDir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	return defaultDataDir
}

// indexDir is where rendered indexes are kept: --index-dir; else beside
// the embedded database; else under --data-dir when given; else, for a
// replica on a shared database with no directory of its own, under the
// system's temporary directory (where a container's writable scratch
// volume usually is). Renderings are named per writer, so replicas that
// share one directory do not mix their files.
func (c *Config) indexDir() string {
	switch {
	case c.IndexDir != "":
		return c.IndexDir
	case !isPostgres(c.DatabaseDSN()):
		return filepath.Join(c.databaseDir(), "index")
	case c.DataDir != "":
		return filepath.Join(c.DataDir, "index")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("chartd-index-%d", os.Getuid()))
}

// databaseDir is where the embedded database lives: --data-dir when given;
// else inside a store of local files (its _chartd/db), so the store carries
// its metadata wherever it is started from; else ./data.
func (c *Config) databaseDir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	if dir := c.localStoreDir(); dir != "" {
		return filepath.Join(dir, "_chartd", "db")
	}
	return defaultDataDir
}

// localStoreDir is the directory of a store of local files, "" for any
// other store (and for the default store, which lives under the data dir).
func (c *Config) localStoreDir() string {
	if c.StorageURL != "" {
		if !strings.Contains(c.StorageURL, "://") {
			return c.StorageURL
		}
		if u, err := url.Parse(c.StorageURL); err == nil && u.Scheme == "file" {
			return filepath.FromSlash(u.Path)
		}
		return ""
	}
	if c.Storage == "local" {
		return c.StorageLocalRootDir
	}
	return ""
}

// Stores are the opened blob store and metadata database, bound to each
// other.
type Stores struct {
	Blobs *storage.BlobStore
	DB    *sqldb.DB

	log    *slog.Logger
	lease  *storage.Lease // embedded database only
	unlock func() error   // embedded database only
	stop   chan struct{}
	wg     sync.WaitGroup
	// Recovered reports what a fresh database got back from the journal.
	Recovered *sqldb.RestoreStats

	closeOnce sync.Once
	closeErr  error
}

// Close flushes the journal, releases the lease and the lock, and closes
// both stores. Calls after the first return its result.
func (st *Stores) Close() error {
	st.closeOnce.Do(func() { st.closeErr = st.close() })
	return st.closeErr
}

func (st *Stores) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if st.stop != nil {
		close(st.stop)
		st.wg.Wait()
	}
	if st.DB != nil {
		errs = append(errs, st.DB.StopJournal(ctx))
	}
	if st.lease != nil {
		errs = append(errs, st.lease.Release(ctx))
	}
	if st.DB != nil {
		errs = append(errs, st.DB.Close())
	}
	if st.unlock != nil {
		errs = append(errs, st.unlock())
	}
	if st.Blobs != nil {
		errs = append(errs, st.Blobs.Close())
	}
	return errors.Join(errs...)
}

// Lost is closed when another process took the store over; it never is for
// a shared database.
func (st *Stores) Lost() <-chan struct{} {
	if st.lease == nil {
		return nil
	}
	return st.lease.Lost()
}

// OpenStores opens the bucket and the database named by the configuration,
// running migrations, and binds them (see the top of this file). Start-up
// reads a few small objects of the store's own; it scans charts only to
// rebuild a fresh database, never otherwise.
func OpenStores(ctx context.Context, cfg *Config, log *slog.Logger) (*Stores, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bucket, err := cfg.BucketURL()
	if err != nil {
		return nil, err
	}
	dsn := cfg.DatabaseDSN()
	st := &Stores{log: log}
	fail := func(err error) (*Stores, error) {
		st.Close()
		return nil, err
	}
	if st.Blobs, err = storage.OpenBlobs(ctx, bucket, log); err != nil {
		return nil, err
	}
	embedded := !isPostgres(dsn)
	dbName := "the shared database"
	if embedded {
		path, _ := filepath.Abs(sqldb.SQLitePath(dsn))
		dbName = path
		if st.unlock, err = sqldb.Lock(path); err != nil {
			return fail(err)
		}
	}
	// The stater lets the database notice a blob that GC removed between a
	// push's existence check and its commit, so the push is retried rather
	// than linking a missing object.
	if st.DB, err = sqldb.Open(ctx, dsn, log, sqldb.WithBlobStater(st.Blobs), sqldb.WithTimeout(cfg.DBTimeout)); err != nil {
		return fail(err)
	}
	b := binding{st: st, embedded: embedded, store: describeStore(bucket), db: dbName}
	if err := b.hold(ctx); err != nil {
		return fail(err)
	}
	if err := b.bind(ctx); err != nil {
		return fail(err)
	}
	if embedded {
		st.stop = make(chan struct{})
		st.wg.Add(1)
		go st.flushLoop()
	}
	return st, nil
}

// flushLoop retries journal notes a failed flush left behind.
func (st *Stores) flushLoop() {
	defer st.wg.Done()
	t := time.NewTicker(journalFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := st.DB.FlushJournal(ctx); err != nil {
				st.log.Error("journal not written to the store; retrying", "err", err)
			}
			cancel()
		}
	}
}

// binding decides, at start, whether a database and a store belong together.
type binding struct {
	st        *Stores
	embedded  bool
	store, db string // for messages
}

// hold takes the store's lease for an embedded database, and for a shared
// one checks that no embedded database holds it.
func (b *binding) hold(ctx context.Context) error {
	blobs := b.st.Blobs
	if !b.embedded {
		h, age, err := blobs.LeaseLive(ctx, leaseTTL)
		if err != nil {
			return err
		}
		if h != nil {
			return fmt.Errorf("%w: %v; stop it before serving %s from a shared database",
				storage.ErrStoreInUse, &storage.StoreInUseError{Holder: *h, Age: age}, b.store)
		}
		return nil
	}
	l, err := blobs.AcquireLease(ctx, storage.LeaseHolder{Database: b.db}, leaseTTL, b.st.log)
	if errors.Is(err, storage.ErrStoreInUse) {
		return fmt.Errorf("%s: %w. Each chartd with an embedded database knows only its own writes, so several on one store "+
			"would serve stale indexes: run replicas on a shared database (--database-url=postgres://…), "+
			"or wait %s for a crashed holder's lease to expire", b.store, err, leaseTTL)
	}
	if err != nil {
		return err
	}
	b.st.lease = l
	return nil
}

// bind checks the identities and brings the database up to the store.
func (b *binding) bind(ctx context.Context) error {
	blobs, db := b.st.Blobs, b.st.DB
	storeID, err := blobs.StoreID(ctx)
	if err != nil {
		return err
	}
	dbID, err := db.StoreID(ctx)
	if err != nil {
		return err
	}
	empty, err := db.Empty(ctx)
	if err != nil {
		return err
	}
	js, err := blobs.Journal(ctx)
	if err != nil {
		return err
	}
	shared, err := blobs.SharedDatabase(ctx)
	if err != nil {
		return err
	}

	switch {
	case dbID != "" && storeID != "" && dbID != storeID:
		return fmt.Errorf("%w: the database %s belongs to store %s, but %s is store %s. Each store needs its own database: "+
			"give this store its own --data-dir or --database-url (with --storage=local and no --data-dir, the database lives in the store)",
			ErrStoreIdentity, b.db, dbID, b.store, storeID)
	case dbID != "" && storeID == "":
		return fmt.Errorf("%w: the database %s belongs to store %s, but %s has no chartd identity: are the --storage flags right? "+
			"If the store was emptied on purpose, move the database away to start afresh",
			ErrStoreIdentity, b.db, dbID, b.store)
	case dbID == "" && !empty && storeID != "":
		return fmt.Errorf("%w: the database %s holds metadata of no recorded store, and %s is store %s of another database: "+
			"point --data-dir or --database-url at this store's database, or move this database away to rebuild it from the store",
			ErrStoreIdentity, b.db, b.store, storeID)
	}

	if dbID == "" && empty && js.Empty() && shared.IsZero() {
		// Nothing to recover from: the store must then hold no blobs, or
		// serving it would show an empty repository over them (and GC
		// would reclaim them all as unreferenced).
		hasBlobs, err := blobs.HasBlobs(ctx)
		if err != nil {
			return err
		}
		if hasBlobs {
			return fmt.Errorf("%w: %s holds chartd blobs but no metadata journal, and the database %s is empty: "+
				"the store alone cannot say which charts it holds; point chartd at its database (--data-dir or --database-url)",
				ErrStoreIdentity, b.store, b.db)
		}
	}
	if storeID == "" {
		// A store chartd has not bound yet: a fresh bucket, a ChartMuseum
		// layout to adopt, or a store of an older chartd with its database.
		if storeID, err = blobs.InitStoreID(ctx); err != nil {
			return err
		}
	}
	if b.embedded {
		return b.bindEmbedded(ctx, storeID, dbID, empty, js, shared)
	}
	return b.bindShared(ctx, storeID, dbID, empty, js, shared)
}

func (b *binding) bindEmbedded(ctx context.Context, storeID, dbID string, empty bool, js storage.JournalState, shared time.Time) error {
	blobs, db := b.st.Blobs, b.st.DB
	if !shared.IsZero() {
		return fmt.Errorf("%w: since %s the metadata of %s is kept by a shared database (PostgreSQL), and an embedded one would serve "+
			"a stale view of it: start chartd with that --database-url", ErrStoreIdentity, shared.Format(time.RFC3339), b.store)
	}
	var next uint64
	rewritten := true // the journal was written to, so js is stale
	switch {
	case dbID == "" && empty && !js.Empty():
		last, err := b.restore(ctx, storeID, js)
		if err != nil {
			return err
		}
		next = last + 1
	case dbID == "":
		// A new store, or an older chartd's store with its database: the
		// journal starts with a snapshot of what the database holds.
		if err := db.SetStoreID(ctx, storeID); err != nil {
			return err
		}
		n := js.Last()
		if err := db.Snapshot(ctx, blobs, n); err != nil {
			return err
		}
		next = n + 1
	default:
		var err error
		if next, rewritten, err = b.checkFresh(ctx, js); err != nil {
			return err
		}
	}
	if rewritten {
		// Listed again only then: a journal holds up to a compaction's
		// worth of entries, and listing them is most of a restart's
		// storage work.
		var err error
		if js, err = blobs.Journal(ctx); err != nil {
			return err
		}
	}
	return db.StartJournal(ctx, blobs, next, js.Pending())
}

// checkFresh compares the database's place in the journal with the
// bucket's: a journal written past it by another database makes it stale.
// rewritten reports a snapshot written to make the journal whole.
func (b *binding) checkFresh(ctx context.Context, js storage.JournalState) (next uint64, rewritten bool, err error) {
	blobs, db := b.st.Blobs, b.st.DB
	next, err = db.JournalNext(ctx)
	if err != nil {
		return 0, false, err
	}
	last := js.Last()
	switch {
	case js.Empty() || next == 0 || last+1 < next:
		// The journal lost objects this database wrote (or it never had a
		// journal): a snapshot of the database makes the store whole again.
		n := last
		if next > 0 && next-1 > n {
			n = next - 1
		}
		b.st.log.Warn("the store's metadata journal is behind its database; writing a snapshot", "store", b.store, "journal", last, "database", next)
		if err := db.Snapshot(ctx, blobs, n); err != nil {
			return 0, false, err
		}
		return n + 1, true, nil
	case last+1 == next:
		return next, false, nil
	}
	// The bucket holds entries at or past ours: they are ours only if we
	// wrote them (a crash can lose our note of the last one).
	writer, err := blobs.JournalWriter(ctx, js)
	if err != nil {
		return 0, false, err
	}
	mine, err := db.DatabaseID(ctx)
	if err != nil {
		return 0, false, err
	}
	if writer != mine {
		return 0, false, fmt.Errorf("%w: the database %s is stale: another database has written to %s since (journal entry %d, this database stopped at %d). "+
			"Move this database away; chartd then rebuilds it from the store", ErrStoreIdentity, b.db, b.store, last, next-1)
	}
	return next, false, nil
}

func (b *binding) bindShared(ctx context.Context, storeID, dbID string, empty bool, js storage.JournalState, shared time.Time) error {
	blobs, db := b.st.Blobs, b.st.DB
	switch {
	case dbID == "" && empty && !shared.IsZero():
		return fmt.Errorf("%w: the metadata of %s has been kept by a shared database since %s, and this one is empty: is --database-url right?",
			ErrStoreIdentity, b.store, shared.Format(time.RFC3339))
	case dbID == "" && empty && !js.Empty():
		// An embedded database's store moves to a shared one.
		if _, err := b.restore(ctx, storeID, js); err != nil {
			return err
		}
	case dbID == "":
		if err := db.SetStoreID(ctx, storeID); err != nil {
			return err
		}
	}
	// From now on the journal is not kept: no embedded database may serve
	// the store again from it.
	return blobs.MarkSharedDatabase(ctx)
}

// restore rebuilds a fresh database from the store's journal and returns
// the number of the last entry replayed.
func (b *binding) restore(ctx context.Context, storeID string, js storage.JournalState) (uint64, error) {
	blobs, db := b.st.Blobs, b.st.DB
	start := time.Now()
	// The blobs present, read once: a record whose blob is gone is left out
	// rather than restored as a row pointing at nothing.
	present := map[digest.Digest]bool{}
	if err := blobs.Walk(ctx, func(sb storage.StoredBlob) error {
		present[sb.Digest] = true
		return nil
	}); err != nil {
		return 0, err
	}
	var last uint64
	stats, restored, err := db.Restore(ctx, storeID, func(fn func(storage.MetaRecord) error) (uint64, error) {
		var err error
		last, err = blobs.ReplayJournal(ctx, js, fn)
		return last, err
	}, func(d digest.Digest) bool { return present[d] })
	if err != nil {
		return 0, fmt.Errorf("recover the metadata of %s from its journal: %w", b.store, err)
	}
	if restored {
		b.st.Recovered = &stats
		b.st.log.Info("recovered the store's metadata from its journal", "store", b.store, "charts", stats.Charts,
			"manifests", stats.Manifests, "tags", stats.Tags, "keys", stats.Keys, "skipped", stats.Skipped,
			"journal", last, "duration", time.Since(start))
	}
	return last, nil
}

// describeStore names a bucket URL for messages, without its query (which
// may carry secrets).
func describeStore(bucket string) string {
	u, err := url.Parse(bucket)
	if err != nil {
		return "the store"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
