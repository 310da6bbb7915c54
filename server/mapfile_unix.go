//go:build unix

package server

import (
	"os"
	"syscall"
)

// mapFile maps a file read-only: a rebuild reuses a large previous index's
// bytes without copying them onto the heap, and the pages are the page
// cache's, not the process's own. The files are never truncated or
// rewritten in place (only renamed and removed), so the mapping stays valid
// until unmapped.
func mapFile(name string) (b []byte, unmap func(), err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 {
		return nil, func() {}, nil
	}
	b, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = syscall.Munmap(b) }, nil
}
