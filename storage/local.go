package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// On a local disk (a file:// bucket opened by OpenBlobs) chartd writes and
// commits blobs itself instead of through fileblob's writer, for two
// reasons.
//
// The commit must not replace a blob that is there: fileblob's IfNotExist
// is a check followed by a rename, so two racing pushes of one blob could
// both rename. A hard link fails when the name exists, atomically.
//
// And the commit must cost the same whether or not the blob is there, or
// timing reveals another tenant's bytes (design invariant 1). Unlinking the
// written file of a blob that turned out to exist frees its blocks, which a
// fresh blob's rename does not: on ext4 that is measurable (more so with
// the discard mount option, which trims freed blocks at the next journal
// commit, inside the next fsync). So every commit runs the same system
// calls on the same directory, and the freeing happens later, off the
// request path:
//
//  1. write the bytes under a staging name next to the blob's key (or under
//     _tmp/ while their digest is computed), hashing them;
//  2. fdatasync the file;
//  3. link it to the blob's key: success, or EEXIST when the blob exists;
//  4. rename the staging name to a spent name in the blob's directory;
//  5. fsync that directory, so the commit survives a power cut;
//  6. hand the spent name to the reaper, which unlinks it a little later.
//
// A new blob's spent name is its second link, so reaping it frees nothing;
// an existing blob's is the only link to a duplicate, which is freed then.
// The reaper batches what it unlinks and syncs the directory itself, so the
// journal commit that frees the blocks is its own and not the next request's.

// reapDelay is how long the reaper gathers spent names before unlinking
// them. A duplicate's blocks stay allocated that long.
const reapDelay = 2 * time.Second

// prepareLocal creates the directories every blob key can fall in, so that
// no push ever creates one: a push whose blob's directory is missing would
// otherwise cost a mkdir that a push of an existing blob never does.
func (s *BlobStore) prepareLocal() error {
	var dirs []string
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		dirs = append(dirs, blobDirs(alg)...)
	}
	if _, err := os.Stat(s.localPath(dirs[len(dirs)-1])); err == nil {
		return nil // made in this order by an earlier start
	}
	for _, d := range append([]string{tmpPrefix}, dirs...) {
		if err := os.MkdirAll(s.localPath(d), 0o755); err != nil {
			return fmt.Errorf("storage: prepare %s: %w", s.root, err)
		}
	}
	return nil
}

// commitLocal is commit on a local disk: steps 1-6 above.
func (s *BlobStore) commitLocal(key string, expected digest.Digest, fill func(io.Writer) (int64, error)) (int64, error) {
	staging := stagingName(key)
	v := expected.Verifier()
	verified := func() error {
		if !v.Verified() {
			return fmt.Errorf("%w: expected %s", ErrDigestMismatch, expected)
		}
		return nil
	}
	n, err := s.writeLocal(staging, v, verified, fill)
	if err != nil {
		return 0, err
	}
	if err := s.place(staging, key); err != nil {
		return 0, err
	}
	return n, nil
}

// pushUnknownLocal is Push without a digest on a local disk: the bytes are
// staged under _tmp/ while sha256 is computed, then the staged file itself
// is committed, so they are written once.
func (s *BlobStore) pushUnknownLocal(r io.Reader) (Descriptor, error) {
	staging := tmpKey()
	dg := digest.SHA256.Digester()
	n, err := s.writeLocal(staging, dg.Hash(), func() error { return nil }, func(w io.Writer) (int64, error) {
		return copyLarge(w, r)
	})
	if err != nil {
		return Descriptor{}, err
	}
	desc := Descriptor{Digest: dg.Digest(), Size: n}
	key, _ := blobKey(desc.Digest)
	if err := s.place(staging, key); err != nil {
		return Descriptor{}, err
	}
	return desc, nil
}

// writeLocal writes what fill produces to a new file at key's local path,
// hashing it into h; when check (called once the hash is complete) passes,
// the file is synced. It is closed either way, and removed on failure.
func (s *BlobStore) writeLocal(key string, h io.Writer, check func() error, fill func(io.Writer) (int64, error)) (n int64, err error) {
	path := s.localPath(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrNotExist) {
		// prepareLocal made every directory; someone removed one since.
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("storage: write: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("storage: write %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	hp := newHashPipe(h)
	fsync := &fileSyncer{f: f, synced: &s.synced}
	n, err = fill(io.MultiWriter(countingWriter{f, &s.written}, hp, fsync))
	hp.Wait()
	if err != nil {
		return 0, err
	}
	if err := check(); err != nil {
		return 0, err
	}
	if err := fsync.sync(); err != nil {
		return 0, err
	}
	return n, nil
}

// place commits the synced file at staging as the blob key (steps 3-6
// above); the staging name is gone afterwards, whatever the outcome.
func (s *BlobStore) place(staging, key string) error {
	from, final := s.localPath(staging), s.localPath(key)
	spent := s.localPath(spentName(key))
	err := os.Link(from, final)
	switch {
	case err == nil || errors.Is(err, fs.ErrExist):
		err = os.Rename(from, spent)
	default:
		// No hard links on this filesystem (some network and FUSE ones):
		// a look and a rename, alike in both cases still. Two racing
		// pushes of one new blob may then both rename, which replaces
		// it with the same bytes.
		if _, serr := os.Lstat(final); serr == nil {
			err = os.Rename(from, spent)
		} else {
			spent = ""
			err = os.Rename(from, final)
		}
	}
	if err != nil {
		_ = os.Remove(from)
		return fmt.Errorf("storage: commit %s: %w", key, err)
	}
	if spent != "" {
		s.reaper.add(spent)
	}
	return syncDir(filepath.Dir(final))
}

// reaper unlinks spent names off the request path, in batches.
type reaper struct {
	log   *slog.Logger
	delay time.Duration
	mu    sync.Mutex
	queue []string
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newReaper(log *slog.Logger, delay time.Duration) *reaper {
	r := &reaper{log: log, delay: delay, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// add queues path for unlinking.
func (r *reaper) add(path string) {
	r.mu.Lock()
	r.queue = append(r.queue, path)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reaper) run() {
	defer close(r.done)
	for {
		select {
		case <-r.quit:
			r.reap()
			return
		case <-r.wake:
		}
		t := time.NewTimer(r.delay)
		select {
		case <-r.quit:
			t.Stop()
			r.reap()
			return
		case <-t.C:
		}
		r.reap()
	}
}

// reap unlinks everything queued, then syncs a directory it touched: that
// forces the journal commit which frees the blocks, here rather than in
// the next request's fsync. A name that is already gone (swept, say) is
// fine; what fails to go is swept by SweepStale once old.
func (r *reaper) reap() {
	r.mu.Lock()
	q := r.queue
	r.queue = nil
	r.mu.Unlock()
	if len(q) == 0 {
		return
	}
	for _, p := range q {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("storage: removing a spent blob name", "path", p, "err", err)
		}
	}
	_ = syncDir(filepath.Dir(q[len(q)-1]))
}

// stop reaps what is queued and ends the reaper.
func (r *reaper) stop() {
	r.once.Do(func() { close(r.quit) })
	<-r.done
}
