package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// The embedded database keeps a journal of its metadata in the bucket (see
// storage/journal.go), so the bucket alone is enough to rebuild it. Triggers
// (migrations/sqlite/00003_store.sql) note every changed key in
// journal_outbox inside the changing transaction; after each commit the
// noted keys' current states are read and appended to the bucket's journal,
// and the notes deleted. Commits that land while one flush runs are carried
// by the next: a group commit, so concurrent writers share the bucket write.

// JournalSink is where the journal goes: the store's bucket.
type JournalSink interface {
	AppendJournal(ctx context.Context, n uint64, writer string, recs []storage.MetaRecord) error
	WriteSnapshot(ctx context.Context, n uint64, writer string, each func(yield func(storage.MetaRecord) error) error) error
	Journal(ctx context.Context) (storage.JournalState, error)
	TrimJournal(ctx context.Context, st storage.JournalState, n uint64) error
}

// Keys of store_meta.
const (
	metaStoreID     = "store_id"
	metaJournalNext = "journal_next"
	metaDatabaseID  = "database_id"
)

// flushBatch bounds the notes one journal entry carries, so an entry (and
// the memory to build it) stays small after a burst.
const flushBatch = 2000

// compactEvery is how many entries must follow a snapshot before the next
// one is written and they are trimmed, and compactAtMost how many may: the
// two bound what a recovery reads after the snapshot.
//
// Between them, a snapshot waits until the entries since the last one
// carry half as many records as it held. A snapshot exports the whole
// database, so at a fixed interval its cost per write grew with the store:
// at 5,000 versions, one every 256 uploads made the last 500 uploads 1.3-
// 1.4x as slow as the first 500. Waiting for the store to grow by half
// makes the snapshots' total work a constant share of the writes', as an
// append-only log's rewrite at a growth ratio does.
const (
	compactEvery  = 256
	compactAtMost = 4096
)

// compactDue reports whether a snapshot is due after since entries
// carrying notes records, the last snapshot having held last records (0:
// none written by this process, whose size is not known).
func compactDue(since, notes, last int) bool {
	switch {
	case since < compactEvery:
		return false
	case since >= compactAtMost:
		return true
	}
	return 2*notes >= last
}

// ErrStoreMismatch: the database describes another store.
var ErrStoreMismatch = errors.New("database belongs to another store")

// StoreID returns the identity of the store the database describes, "" when
// none was recorded.
func (db *DB) StoreID(ctx context.Context) (string, error) {
	return db.meta(ctx, db.read(), metaStoreID)
}

func (db *DB) meta(ctx context.Context, x q, key string) (string, error) {
	var v string
	err := x.row(ctx, `SELECT value FROM store_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqldb: store_meta %s: %w", key, err)
	}
	return v, nil
}

// SetStoreID records the store the database describes. A database already
// recording another store fails with ErrStoreMismatch; concurrent callers
// recording the same identity all succeed.
func (db *DB) SetStoreID(ctx context.Context, id string) error {
	return db.write(ctx, func(tx q) error { return setStoreID(ctx, tx, id) })
}

func setStoreID(ctx context.Context, tx q, id string) error {
	if _, err := tx.exec(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, metaStoreID, id); err != nil {
		return fmt.Errorf("sqldb: record store identity: %w", err)
	}
	var have string
	if err := tx.row(ctx, `SELECT value FROM store_meta WHERE key = ?`, metaStoreID).Scan(&have); err != nil {
		return fmt.Errorf("sqldb: record store identity: %w", err)
	}
	if have != id {
		return fmt.Errorf("sqldb: store %s, not %s: %w", have, id, ErrStoreMismatch)
	}
	return nil
}

func setMeta(ctx context.Context, tx q, key, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("sqldb: store_meta %s: %w", key, err)
	}
	return nil
}

// DatabaseID is this database's own random identity, made on first use:
// the journal objects it writes carry it, so that a database returning to a
// store can tell whether another one wrote there since.
func (db *DB) DatabaseID(ctx context.Context) (string, error) {
	if id, err := db.meta(ctx, db.read(), metaDatabaseID); err != nil || id != "" {
		return id, err
	}
	var id string
	err := db.write(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, metaDatabaseID, newID()); err != nil {
			return fmt.Errorf("sqldb: database identity: %w", err)
		}
		var err error
		id, err = db.meta(ctx, tx, metaDatabaseID)
		return err
	})
	return id, err
}

// Empty reports a database holding no metadata: no tenant, repository or
// blob row.
func (db *DB) Empty(ctx context.Context) (bool, error) {
	var any bool
	err := db.read().row(ctx, `SELECT EXISTS (SELECT 1 FROM tenants) OR EXISTS (SELECT 1 FROM repositories) OR EXISTS (SELECT 1 FROM blobs)`).Scan(&any)
	if err != nil {
		return false, fmt.Errorf("sqldb: %w", err)
	}
	return !any, nil
}

// JournalNext is the number of the next journal entry this database writes
// (0 when it never wrote one).
func (db *DB) JournalNext(ctx context.Context) (uint64, error) {
	v, err := db.meta(ctx, db.read(), metaJournalNext)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sqldb: journal_next %q: %w", v, err)
	}
	return n, nil
}

// journal drives the bucket journal of an embedded database.
type journal struct {
	db     *DB
	sink   JournalSink
	writer string // this database's id, in every object it writes
	// mu serialises flushes: entries are numbered and written in order.
	mu   sync.Mutex
	next uint64 // guarded by mu
	// sinceSnapshot counts entries since the last snapshot and notesSince
	// the records they carry; lastSnapshot is how many records the last
	// snapshot held (0: unknown). compacting is set while a snapshot is
	// being written, from notesSince's value at its start. All guarded by mu.
	sinceSnapshot   int
	notesSince      int
	lastSnapshot    int
	compacting      bool
	compactingNotes int
	wg              sync.WaitGroup
}

// StartJournal makes every commit of this (SQLite) database append its
// changes to sink's journal, starting at entry next, and first flushes
// what an earlier process committed but did not journal. Call it once the
// database describes the store (after SetStoreID or Restore).
func (db *DB) StartJournal(ctx context.Context, sink JournalSink, next uint64, pending int) error {
	if db.pg {
		return errors.New("sqldb: a shared database keeps no journal")
	}
	writer, err := db.DatabaseID(ctx)
	if err != nil {
		return err
	}
	j := &journal{db: db, sink: sink, writer: writer, next: next, sinceSnapshot: pending}
	if err := db.write(ctx, func(tx q) error { return setMeta(ctx, tx, metaJournalNext, strconv.FormatUint(next, 10)) }); err != nil {
		return err
	}
	if err := j.flush(ctx); err != nil {
		return err
	}
	db.journal.Store(j)
	return nil
}

// StopJournal flushes what is left and waits for a snapshot in progress.
func (db *DB) StopJournal(ctx context.Context) error {
	j := db.journal.Swap(nil)
	if j == nil {
		return nil
	}
	err := j.flush(ctx)
	j.wg.Wait()
	return err
}

// afterCommit runs after every durable commit: the commit's notes reach
// the bucket before the caller answers its client. A failure is logged,
// not returned: the commit stands and its notes stay for the next flush.
func (db *DB) afterCommit(ctx context.Context) {
	if j := db.journal.Load(); j != nil {
		if err := j.flush(context.WithoutCancel(ctx)); err != nil {
			db.log.ErrorContext(ctx, "sqldb: journal not written to the store; retried at the next commit", "err", err)
		}
	}
}

// FlushJournal writes pending notes now (the server calls it on a timer, so
// notes left by a failed flush do not wait for the next commit).
func (db *DB) FlushJournal(ctx context.Context) error {
	if j := db.journal.Load(); j != nil {
		return j.flush(ctx)
	}
	return nil
}

type note struct {
	kind string
	a    int64
	b, c string
}

func (j *journal) flush(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		n, err := j.flushOnce(ctx)
		if err != nil || n < flushBatch {
			return err
		}
	}
}

// flushOnce writes one entry of at most flushBatch notes; j.mu is held.
func (j *journal) flushOnce(ctx context.Context) (int, error) {
	db := j.db
	rows, err := db.read().query(ctx, `SELECT seq, kind, a, b, c FROM journal_outbox ORDER BY seq LIMIT ?`, flushBatch)
	if err != nil {
		return 0, fmt.Errorf("sqldb: journal notes: %w", err)
	}
	var (
		notes []note
		seen  = map[note]bool{}
		last  int64
		count int
	)
	for rows.Next() {
		var n note
		if err := rows.Scan(&last, &n.kind, &n.a, &n.b, &n.c); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqldb: journal notes: %w", err)
		}
		count++
		if !seen[n] {
			seen[n] = true
			notes = append(notes, n)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("sqldb: journal notes: %w", err)
	}
	if count == 0 {
		return 0, nil
	}
	recs, err := db.records(ctx, notes)
	if err != nil {
		return 0, err
	}
	if err := j.sink.AppendJournal(ctx, j.next, j.writer, recs); err != nil {
		return 0, err
	}
	// The notes are in the bucket: forget them. A power cut may lose this
	// commit (it is lazy); the notes are then written again as the same
	// entry, with states at least as new.
	next := j.next + 1
	err = db.writeLazy(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `DELETE FROM journal_outbox WHERE seq <= ?`, last); err != nil {
			return err
		}
		return setMeta(ctx, tx, metaJournalNext, strconv.FormatUint(next, 10))
	})
	if err != nil {
		return 0, fmt.Errorf("sqldb: journal notes: %w", err)
	}
	j.next = next
	j.sinceSnapshot++
	j.notesSince += len(recs)
	if !j.compacting && compactDue(j.sinceSnapshot, j.notesSince, j.lastSnapshot) {
		j.compacting, j.compactingNotes = true, j.notesSince
		j.wg.Add(1)
		go j.compact(context.WithoutCancel(ctx), j.next-1)
	}
	return count, nil
}

// compact writes snapshot n (every live record, read after entry n was
// written) and trims what it covers. It runs beside new commits: entries
// after n replay on top of it.
func (j *journal) compact(ctx context.Context, n uint64) {
	defer j.wg.Done()
	records, err := j.db.snapshot(ctx, j.sink, n)
	j.mu.Lock()
	j.compacting = false
	if err == nil {
		// Entries written during the snapshot follow it.
		j.sinceSnapshot = int(j.next - 1 - n)
		j.notesSince -= j.compactingNotes
		j.lastSnapshot = records
	}
	j.mu.Unlock()
	if err != nil {
		j.db.log.ErrorContext(ctx, "sqldb: journal snapshot failed; retried later", "err", err)
	}
}

// Snapshot writes snapshot n of the whole database to sink and trims the
// entries it covers. n must be the number of an entry already written (or
// 0 for a store's first snapshot).
func (db *DB) Snapshot(ctx context.Context, sink JournalSink, n uint64) error {
	_, err := db.snapshot(ctx, sink, n)
	return err
}

// snapshot is Snapshot, returning how many records the snapshot holds.
func (db *DB) snapshot(ctx context.Context, sink JournalSink, n uint64) (int, error) {
	writer, err := db.DatabaseID(ctx)
	if err != nil {
		return 0, err
	}
	records := 0
	err = sink.WriteSnapshot(ctx, n, writer, func(yield func(storage.MetaRecord) error) error {
		records = 0 // a sink may call again to retry
		return db.Export(ctx, func(r storage.MetaRecord) error {
			records++
			return yield(r)
		})
	})
	if err != nil {
		return 0, err
	}
	st, err := sink.Journal(ctx)
	if err != nil {
		return 0, err
	}
	return records, sink.TrimJournal(ctx, st, n)
}

// names resolves the database's ids to the names records carry.
type names struct {
	x       q
	tenants map[int64]string
	repos   map[int64][2]string
}

func (nm *names) tenant(ctx context.Context, id int64) (string, bool, error) {
	if p, ok := nm.tenants[id]; ok {
		return p, true, nil
	}
	var p string
	err := nm.x.row(ctx, `SELECT path FROM tenants WHERE id = ?`, id).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sqldb: tenant %d: %w", id, err)
	}
	nm.tenants[id] = p
	return p, true, nil
}

func (nm *names) repo(ctx context.Context, id int64) (string, string, bool, error) {
	if r, ok := nm.repos[id]; ok {
		return r[0], r[1], true, nil
	}
	var r [2]string
	err := nm.x.row(ctx, `SELECT t.path, r.name FROM repositories r JOIN tenants t ON t.id = r.tenant_id WHERE r.id = ?`, id).Scan(&r[0], &r[1])
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("sqldb: repository %d: %w", id, err)
	}
	nm.repos[id] = r
	return r[0], r[1], true, nil
}

// records reads the current state of each noted key in one read
// transaction, so an entry is one consistent moment of the database.
func (db *DB) records(ctx context.Context, notes []note) ([]storage.MetaRecord, error) {
	tctx, until, cancel := db.txContext(ctx, false)
	defer cancel()
	tx, err := db.rd.BeginTx(tctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqldb: journal read: %w", db.unreachable(ctx, err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	x := q{db: db, c: tx, until: until}
	nm := &names{x: x, tenants: map[int64]string{}, repos: map[int64][2]string{}}
	out := make([]storage.MetaRecord, 0, len(notes))
	for _, n := range notes {
		rec, ok, err := db.record(ctx, x, nm, n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out, nil
}

// record reads one key's state; ok is false when the key's tenant or
// repository no longer exists (nothing under it can be replayed).
func (db *DB) record(ctx context.Context, x q, nm *names, n note) (storage.MetaRecord, bool, error) {
	switch n.kind {
	case "c":
		tenant, ok, err := nm.tenant(ctx, n.a)
		if !ok || err != nil {
			return storage.MetaRecord{}, false, err
		}
		cv, err := scanChart(x.row(ctx, `SELECT `+chartColumns+` FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`, n.a, n.b, n.c))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.MetaRecord{Chart: &storage.ChartRecord{Tenant: tenant, Name: n.b, Version: n.c, Deleted: true}}, true, nil
		}
		if err != nil {
			return storage.MetaRecord{}, false, fmt.Errorf("sqldb: journal chart %s-%s: %w", n.b, n.c, err)
		}
		return storage.MetaRecord{Chart: chartRecord(tenant, cv)}, true, nil
	case "m":
		tenant, repo, ok, err := nm.repo(ctx, n.a)
		if !ok || err != nil {
			return storage.MetaRecord{}, false, err
		}
		m, err := manifestRecord(ctx, x, n.a, digest.Digest(n.b))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.MetaRecord{Manifest: &storage.ManifestRecord{Tenant: tenant, Repo: repo, Digest: digest.Digest(n.b), Deleted: true}}, true, nil
		}
		if err != nil {
			return storage.MetaRecord{}, false, err
		}
		m.Tenant, m.Repo = tenant, repo
		return storage.MetaRecord{Manifest: m}, true, nil
	case "t":
		tenant, repo, ok, err := nm.repo(ctx, n.a)
		if !ok || err != nil {
			return storage.MetaRecord{}, false, err
		}
		t := &storage.TagRecord{Tenant: tenant, Repo: repo, Tag: n.b}
		var d string
		err = x.row(ctx, `SELECT manifest_digest FROM tags WHERE repository_id = ? AND name = ?`, n.a, n.b).Scan(&d)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			t.Deleted = true
		case err != nil:
			return storage.MetaRecord{}, false, fmt.Errorf("sqldb: journal tag %s: %w", n.b, err)
		default:
			t.Digest = digest.Digest(d)
		}
		return storage.MetaRecord{Tag: t}, true, nil
	case "k":
		tenant, ok, err := nm.tenant(ctx, n.a)
		if !ok || err != nil {
			return storage.MetaRecord{}, false, err
		}
		k := &storage.KeyRecord{Tenant: tenant, Fingerprint: n.b}
		var created int64
		err = x.row(ctx, `SELECT armored, created FROM keys WHERE tenant_id = ? AND fingerprint = ?`, n.a, n.b).Scan(&k.Armored, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			k.Deleted = true
		case err != nil:
			return storage.MetaRecord{}, false, fmt.Errorf("sqldb: journal key %s: %w", n.b, err)
		default:
			k.Created = fromNanos(created)
		}
		return storage.MetaRecord{Key: k}, true, nil
	}
	return storage.MetaRecord{}, false, fmt.Errorf("sqldb: journal note of unknown kind %q", n.kind)
}

func chartRecord(tenant string, cv storage.ChartVersion) *storage.ChartRecord {
	return &storage.ChartRecord{
		Tenant: tenant, Name: cv.Name, Version: cv.Version,
		Digest: cv.Digest, Size: cv.Size, ProvDigest: cv.ProvDigest, ProvSize: cv.ProvSize,
		Metadata: cv.Metadata, Created: cv.Created,
		Signer: cv.Signer, SignerFingerprint: cv.SignerFingerprint, ServerSigned: cv.ServerSigned,
		ManifestDigest: cv.ManifestDigest, ManifestSize: cv.ManifestSize, ConfigDigest: cv.ConfigDigest, ConfigSize: cv.ConfigSize,
	}
}

// manifestRecord reads a manifest row with its references and their sizes
// (sql.ErrNoRows when it does not exist).
func manifestRecord(ctx context.Context, x q, repoID int64, d digest.Digest) (*storage.ManifestRecord, error) {
	m, err := scanManifest(x.row(ctx, `SELECT `+manifestColumns+` FROM manifests WHERE repository_id = ? AND digest = ?`, repoID, string(d)))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqldb: journal manifest %s: %w", d, err)
	}
	rec := &storage.ManifestRecord{
		Digest: m.Digest, Size: m.Size, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Subject: m.Subject,
		ConfigDigest: m.ConfigDigest, ConfigMediaType: m.ConfigMediaType, Annotations: m.Annotations, Created: m.Created,
	}
	rows, err := x.query(ctx, `SELECT mr.digest, mr.kind, b.size FROM manifest_refs mr JOIN blobs b ON b.digest = mr.digest
		WHERE mr.repository_id = ? AND mr.manifest_digest = ? ORDER BY mr.kind, mr.digest`, repoID, string(d))
	if err != nil {
		return nil, fmt.Errorf("sqldb: journal manifest %s: %w", d, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref storage.RefRecord
		var dg, kind string
		if err := rows.Scan(&dg, &kind, &ref.Size); err != nil {
			return nil, fmt.Errorf("sqldb: journal manifest %s: %w", d, err)
		}
		ref.Digest = digest.Digest(dg)
		if kind == refManifest {
			rec.Children = append(rec.Children, ref)
		} else {
			rec.Blobs = append(rec.Blobs, ref)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: journal manifest %s: %w", d, err)
	}
	return rec, nil
}

// Export calls yield for every live record of the database, from one
// consistent read: keys, chart versions, manifests (children before the
// indexes that list them), then tags. Rows are streamed; only manifest ids
// are collected, since each manifest's references take a query of their own.
func (db *DB) Export(ctx context.Context, yield func(storage.MetaRecord) error) error {
	ctx = long(ctx) // one snapshot of the whole database
	tx, err := db.rd.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqldb: export: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	x := q{db: db, c: tx}
	each := func(query string, scan func(*sql.Rows) (storage.MetaRecord, error)) error {
		rows, err := x.query(ctx, query)
		if err != nil {
			return fmt.Errorf("sqldb: export: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := scan(rows.Rows)
			if err != nil {
				return fmt.Errorf("sqldb: export: %w", err)
			}
			if err := yield(rec); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqldb: export: %w", err)
		}
		return nil
	}
	err = each(`SELECT t.path, k.fingerprint, k.armored, k.created FROM keys k JOIN tenants t ON t.id = k.tenant_id
		ORDER BY t.path, k.fingerprint`, func(r *sql.Rows) (storage.MetaRecord, error) {
		var k storage.KeyRecord
		var created int64
		err := r.Scan(&k.Tenant, &k.Fingerprint, &k.Armored, &created)
		k.Created = fromNanos(created)
		return storage.MetaRecord{Key: &k}, err
	})
	if err != nil {
		return err
	}
	err = each(`SELECT t.path, `+prefixed("c", chartColumns)+` FROM chart_versions c JOIN tenants t ON t.id = c.tenant_id
		ORDER BY t.path, c.name, c.created, c.version`, func(r *sql.Rows) (storage.MetaRecord, error) {
		var tenant string
		cv, err := scanChart(prefixScanner{r, &tenant})
		return storage.MetaRecord{Chart: chartRecord(tenant, cv)}, err
	})
	if err != nil {
		return err
	}
	type mkey struct {
		repo         int64
		tenant, name string
		digest       string
	}
	var ms []mkey
	// An index's children first, so a replay inserts in dependency order.
	rows, err := x.query(ctx, `SELECT m.repository_id, t.path, r.name, m.digest FROM manifests m
		JOIN repositories r ON r.id = m.repository_id JOIN tenants t ON t.id = r.tenant_id
		ORDER BY EXISTS (SELECT 1 FROM manifest_refs x WHERE x.repository_id = m.repository_id AND x.manifest_digest = m.digest AND x.kind = 'm'),
		t.path, r.name, m.digest`)
	if err != nil {
		return fmt.Errorf("sqldb: export: %w", err)
	}
	for rows.Next() {
		var k mkey
		if err := rows.Scan(&k.repo, &k.tenant, &k.name, &k.digest); err != nil {
			rows.Close()
			return fmt.Errorf("sqldb: export: %w", err)
		}
		ms = append(ms, k)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("sqldb: export: %w", err)
	}
	for _, k := range ms {
		m, err := manifestRecord(ctx, x, k.repo, digest.Digest(k.digest))
		if err != nil {
			return fmt.Errorf("sqldb: export: %w", err)
		}
		m.Tenant, m.Repo = k.tenant, k.name
		if err := yield(storage.MetaRecord{Manifest: m}); err != nil {
			return err
		}
	}
	return each(`SELECT t.path, r.name, g.name, g.manifest_digest FROM tags g JOIN repositories r ON r.id = g.repository_id
		JOIN tenants t ON t.id = r.tenant_id ORDER BY t.path, r.name, g.name`, func(r *sql.Rows) (storage.MetaRecord, error) {
		var tg storage.TagRecord
		var d string
		err := r.Scan(&tg.Tenant, &tg.Repo, &tg.Tag, &d)
		tg.Digest = digest.Digest(d)
		return storage.MetaRecord{Tag: &tg}, err
	})
}

// prefixScanner scans a leading column into first, then the rest as a
// scanner of the remaining columns expects.
type prefixScanner struct {
	r     *sql.Rows
	first any
}

func (p prefixScanner) Scan(dst ...any) error { return p.r.Scan(append([]any{p.first}, dst...)...) }

// restoredAt is when restored rows count as created for garbage collection:
// now, so the grace period starts again after a recovery.
func restoredAt() int64 { return time.Now().UnixNano() }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
