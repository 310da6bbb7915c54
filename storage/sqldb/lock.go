package sqldb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrLocked: another process has the embedded database open.
var ErrLocked = errors.New("database in use by another process")

// LockedError names the process holding an embedded database.
type LockedError struct {
	Path string
	PID  int // 0 when unknown
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("the embedded database %s is in use by %s: one process serves an embedded database "+
		"(its cached index relies on seeing every write); stop the other chartd, or run several replicas on PostgreSQL (--database-url=postgres://…)", e.Path, who)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// SQLitePath is the file of a SQLite DSN as Open reads it, "" for a
// PostgreSQL URL.
func SQLitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	path, _, _ = strings.Cut(path, "?")
	return path
}

// Lock takes the exclusive lock of the embedded database at path (a
// <path>.lock file beside it), or fails with a *LockedError. SQLite itself
// would let a second process write, but that process's writes would be
// invisible to this one's index cache: one process per embedded database,
// never silent staleness. The lock is the kernel's, so it dies with the
// process, whatever killed it.
func Lock(path string) (unlock func() error, err error) {
	if path == "" {
		return nil, errors.New("sqldb: lock: empty database path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
	}
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqldb: lock: %w", err)
	}
	if err := flock(f); err != nil {
		pid, _ := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			abs, _ := filepath.Abs(path)
			return nil, &LockedError{Path: abs, PID: pid}
		}
		return nil, fmt.Errorf("sqldb: lock %s: %w", lp, err)
	}
	// The holder's pid, for the message a second process prints.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		_ = f.Truncate(0)
		return errors.Join(funlock(f), f.Close())
	}, nil
}

func readPID(f *os.File) (int, error) {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	return strconv.Atoi(strings.TrimSpace(string(b[:n])))
}
