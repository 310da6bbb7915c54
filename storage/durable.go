package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// A blob's key is the promise that its bytes are there: the metadata
// database commits rows that reference it right after the push returns, and
// that database syncs its commits. So on a local disk a blob is synced
// before it is committed, and its directory after the link (or rename)
// that commits it, or a power cut could leave a row pointing at an empty
// or vanished file (the distribution registry syncs the same two things).
// Object stores need none of this: their PUT is durable when it returns.

// writebackChunk is how often, in bytes, a growing blob's new pages are
// handed to the kernel for writeback, so the disk writes while the rest
// arrives and the final sync finds little left to do.
const writebackChunk = 8 << 20

// fileSyncer follows the bytes written to a local blob file and syncs them.
type fileSyncer struct {
	f                *os.File
	written, started int64
	synced           *atomic.Int64 // counts completed syncs
}

// Write notes that p has been written to the file (it sits after the
// bucket writer in a MultiWriter) and starts writeback of each full chunk.
func (s *fileSyncer) Write(p []byte) (int, error) {
	s.written += int64(len(p))
	if s.written-s.started >= writebackChunk {
		startWriteback(s.f, s.started, s.written-s.started)
		s.started = s.written
	}
	return len(p), nil
}

// sync waits until the file's data is on disk.
func (s *fileSyncer) sync() error {
	if err := dataSync(s.f); err != nil {
		return fmt.Errorf("storage: sync %s: %w", s.f.Name(), err)
	}
	s.synced.Add(1)
	return nil
}

// syncDir makes a link or rename into dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	return nil
}

// localPath is the file of key in a file bucket opened by OpenBlobs
// (s.root set): fileblob stores a key at that path, and every key chartd
// writes is of characters fileblob does not escape.
func (s *BlobStore) localPath(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}
