//go:build !unix

package sqldb

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// flock has no portable equivalent here: chartd is served from Unix
// systems, where the lock is the kernel's. Elsewhere the lock file is
// written but not locked.
func flock(*os.File) error { return nil }

func funlock(*os.File) error { return nil }
