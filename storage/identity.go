package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// The store's own metadata lives under _chartd/, a prefix that is neither a
// blob key nor part of a ChartMuseum layout:
//
//	_chartd/store-id          the store's identity, written once
//	_chartd/lease             which process holds the store with an embedded database
//	_chartd/shared-database   present once a shared (PostgreSQL) database owns the metadata
//	_chartd/snapshot/<n>      every live record as of journal entry n (gzip'd JSON lines)
//	_chartd/journal/<n>       the records one commit group changed (JSON lines)
//	_chartd/imported          the ChartMuseum layout was adopted (server/import.go)
const (
	metaPrefix     = "_chartd/"
	storeIDKey     = metaPrefix + "store-id"
	leaseKey       = metaPrefix + "lease"
	sharedDBKey    = metaPrefix + "shared-database"
	journalPrefix  = metaPrefix + "journal/"
	snapshotPrefix = metaPrefix + "snapshot/"
)

// ErrStoreInUse: another process holds the store (see Lease).
var ErrStoreInUse = errors.New("store in use by another chartd")

// StoreID returns the store's identity, or "" when it has none yet.
func (s *BlobStore) StoreID(ctx context.Context) (string, error) {
	b, err := s.bucket.ReadAll(ctx, storeIDKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: read store identity: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("storage: %s is empty", storeIDKey)
	}
	return id, nil
}

// InitStoreID gives the store an identity when it has none, and returns the
// identity that holds: a concurrent creator's, if it won. The write is
// create-only, so two processes starting on an empty bucket agree.
func (s *BlobStore) InitStoreID(ctx context.Context) (string, error) {
	if id, err := s.StoreID(ctx); err != nil || id != "" {
		return id, err
	}
	id := randomID()
	err := s.writeSmall(ctx, storeIDKey, []byte(id+"\n"), true)
	if alreadyCreated(err) {
		return s.StoreID(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("storage: write store identity: %w", err)
	}
	return id, nil
}

// HasBlobs reports whether the store holds any blob.
func (s *BlobStore) HasBlobs(ctx context.Context) (bool, error) {
	return s.hasKeys(ctx, blobPrefix)
}

func (s *BlobStore) hasKeys(ctx context.Context, prefix string) (bool, error) {
	objs, _, err := s.bucket.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: prefix})
	if err != nil {
		return false, fmt.Errorf("storage: list %s: %w", prefix, err)
	}
	return len(objs) > 0, nil
}

// SharedDatabase reports since when a shared database has owned the store's
// metadata (zero: never). An embedded database must then not serve it: its
// view would be stale, and the journal stopped when the shared one took over.
func (s *BlobStore) SharedDatabase(ctx context.Context) (time.Time, error) {
	b, err := s.bucket.ReadAll(ctx, sharedDBKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("storage: read %s: %w", sharedDBKey, err)
	}
	var rec struct {
		Since time.Time `json:"since"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Since.IsZero() {
		return time.Unix(0, 0), nil // present but unreadable: still owned
	}
	return rec.Since, nil
}

// MarkSharedDatabase records that a shared database owns the metadata from
// now on (the first such mark stays).
func (s *BlobStore) MarkSharedDatabase(ctx context.Context) error {
	b, _ := json.Marshal(map[string]time.Time{"since": time.Now().UTC()})
	err := s.writeSmall(ctx, sharedDBKey, b, true)
	if err != nil && !alreadyCreated(err) {
		return fmt.Errorf("storage: write %s: %w", sharedDBKey, err)
	}
	return nil
}

// writeSmall writes a small object, synced on a local disk like a blob.
// createOnly makes the write fail, as alreadyCreated reports, when the key
// exists.
func (s *BlobStore) writeSmall(ctx context.Context, key string, b []byte, createOnly bool) error {
	return s.writeMeta(ctx, key, createOnly, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeMeta writes one metadata object from fill. On a local disk the file
// is synced before it is renamed into place and the directory after, so an
// object that was reported written survives a power cut.
func (s *BlobStore) writeMeta(ctx context.Context, key string, createOnly bool, fill func(io.Writer) error) error {
	if createOnly && s.root != "" {
		return s.createLocal(key, fill)
	}
	var file *os.File
	w, err := s.newWriter(ctx, key, &blob.WriterOptions{
		ContentType: "application/octet-stream",
		IfNotExist:  createOnly,
		BeforeWrite: func(as func(any) bool) error { as(&file); return nil },
	})
	if err != nil {
		return err
	}
	err = fill(countingWriter{w, &s.written})
	if err == nil && file != nil {
		err = dataSync(file)
	}
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if file != nil && s.root != "" {
		return syncDir(filepath.Dir(s.localPath(key)))
	}
	return nil
}

// createLocal is writeMeta's create-only write on a local disk. fileblob's
// IfNotExist looks before it renames, so two processes creating one key at
// once could both succeed (the driver test saw two store identities); a
// hard link of a synced staging file is the atomic create-only step.
func (s *BlobStore) createLocal(key string, fill func(io.Writer) error) error {
	staging := stagingName(key)
	if _, err := s.writeLocal(staging, io.Discard, func() error { return nil }, func(w io.Writer) (int64, error) {
		return 0, fill(w)
	}); err != nil {
		return err
	}
	from, final := s.localPath(staging), s.localPath(key)
	defer os.Remove(from)
	if err := os.Link(from, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("storage: %s exists: %w", key, errCreated)
		}
		return fmt.Errorf("storage: write %s: %w", key, err)
	}
	return syncDir(filepath.Dir(final))
}

// errCreated: a create-only write found its key there already.
var errCreated = errors.New("already created")

// alreadyCreated reports whether a create-only write lost to another
// writer, through any driver.
func alreadyCreated(err error) bool {
	return errors.Is(err, errCreated) || gcerrors.Code(err) == gcerrors.FailedPrecondition
}

// LeaseHolder says who holds the store. Only a process with an embedded
// database takes the lease: its database knows only its own writes, so a
// second such process on the same store would serve a stale view.
type LeaseHolder struct {
	ID       string    `json:"id"`
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Database string    `json:"database"`
	Renewed  time.Time `json:"renewed"`
}

func (h LeaseHolder) String() string {
	return fmt.Sprintf("pid %d on %s (database %s)", h.PID, h.Host, h.Database)
}

// StoreInUseError reports the live holder of a store's lease.
type StoreInUseError struct {
	Holder LeaseHolder
	Age    time.Duration
}

func (e *StoreInUseError) Error() string {
	return fmt.Sprintf("store in use by another chartd with an embedded database: %s, lease renewed %s ago", e.Holder, e.Age.Round(time.Second))
}

// Is makes errors.Is(err, ErrStoreInUse) true.
func (e *StoreInUseError) Is(target error) bool { return target == ErrStoreInUse }

// Lease is a store held by this process. It is renewed in the background
// until Release; Lost is closed when another process took it over.
type Lease struct {
	s    *BlobStore
	me   LeaseHolder
	ttl  time.Duration
	log  *slog.Logger
	once sync.Once
	stop chan struct{}
	done chan struct{}
	lost chan struct{}
}

// ReadLease returns the store's lease holder and how long ago it was
// renewed (by the bucket's clock), or nil when no lease exists.
func (s *BlobStore) ReadLease(ctx context.Context) (*LeaseHolder, time.Duration, error) {
	b, err := s.bucket.ReadAll(ctx, leaseKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("storage: read lease: %w", err)
	}
	var h LeaseHolder
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, 0, fmt.Errorf("storage: lease: %w", err)
	}
	age := time.Since(h.Renewed)
	if a, err := s.bucket.Attributes(ctx, leaseKey); err == nil && !a.ModTime.IsZero() {
		// The object's time comes from the store: one clock for every reader.
		age = time.Since(a.ModTime)
	}
	return &h, age, nil
}

// LeaseLive reports whether a lease on the store is held by a live process.
func (s *BlobStore) LeaseLive(ctx context.Context, ttl time.Duration) (*LeaseHolder, time.Duration, error) {
	h, age, err := s.ReadLease(ctx)
	if err != nil || h == nil || stale(*h, age, ttl) {
		return nil, 0, err
	}
	return h, age, nil
}

// stale reports a lease nobody holds: not renewed for ttl, or held by a
// process of this host that no longer runs (or by this very pid, which
// then is a previous incarnation: this process holds nothing yet).
func stale(h LeaseHolder, age, ttl time.Duration) bool {
	if age > ttl {
		return true
	}
	host, _ := os.Hostname()
	return h.Host == host && (h.PID == os.Getpid() || !processAlive(h.PID))
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// AcquireLease takes the store for this process, or fails with a
// *StoreInUseError naming the live holder. The lease is a best-effort
// guard against a misconfiguration (a second pod on the store), not a
// consensus protocol: object stores offer create-only writes but no
// compare-and-swap, so two processes taking over one stale lease in the
// same instant could both believe they won for up to one renewal period;
// the loser then sees the other's lease and gives up (Lost).
func (s *BlobStore) AcquireLease(ctx context.Context, me LeaseHolder, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	me.ID = randomID()
	if me.Host == "" {
		me.Host, _ = os.Hostname()
	}
	if me.PID == 0 {
		me.PID = os.Getpid()
	}
	l := &Lease{s: s, me: me, ttl: ttl, log: log, stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
	for attempt := 0; ; attempt++ {
		h, age, err := s.ReadLease(ctx)
		if err != nil {
			return nil, err
		}
		createOnly := h == nil
		if h != nil && !stale(*h, age, ttl) {
			return nil, &StoreInUseError{Holder: *h, Age: age}
		}
		err = l.write(ctx, createOnly)
		if alreadyCreated(err) && attempt < 3 {
			continue // another process created it first: look at theirs
		}
		if err != nil {
			return nil, fmt.Errorf("storage: write lease: %w", err)
		}
		break
	}
	// A takeover of a stale lease is an unconditional write: read it back
	// so that of two simultaneous takers, the one overwritten learns it now.
	if h, _, err := s.ReadLease(ctx); err != nil {
		return nil, err
	} else if h == nil || h.ID != l.me.ID {
		return nil, &StoreInUseError{Holder: derefHolder(h)}
	}
	go l.renew()
	return l, nil
}

func derefHolder(h *LeaseHolder) LeaseHolder {
	if h == nil {
		return LeaseHolder{}
	}
	return *h
}

func (l *Lease) write(ctx context.Context, createOnly bool) error {
	l.me.Renewed = time.Now().UTC()
	b, _ := json.Marshal(l.me)
	return l.s.writeSmall(ctx, leaseKey, b, createOnly)
}

// renew rewrites the lease every ttl/3, checking first that it is still
// ours. A renewal that fails (the store unreachable) is retried at the next
// tick; a lease found taken closes Lost.
func (l *Lease) renew() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		h, _, err := l.s.ReadLease(ctx)
		switch {
		case err != nil:
			l.log.Error("storage: lease renewal failed", "err", err)
		case h == nil || h.ID != l.me.ID:
			l.log.Error("storage: lease on the store taken by another process; stopping", "holder", derefHolder(h).String())
			close(l.lost)
			cancel()
			return
		default:
			if err := l.write(ctx, false); err != nil {
				l.log.Error("storage: lease renewal failed", "err", err)
			}
		}
		cancel()
	}
}

// Lost is closed when another process took the lease over.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release stops renewing and deletes the lease if it is still ours, so the
// next process can start at once.
func (l *Lease) Release(ctx context.Context) error {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	h, _, err := l.s.ReadLease(ctx)
	if err != nil || h == nil || h.ID != l.me.ID {
		return err
	}
	if err := l.s.bucket.Delete(ctx, leaseKey); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("storage: release lease: %w", err)
	}
	return nil
}
