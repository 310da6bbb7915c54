package server

import (
	"sync"
	"sync/atomic"

	"github.com/chartd/chartd/intake"
)

// pathMemo remembers repository paths that passed intake.CheckPath, which
// runs a regular expression per segment (distribution/reference's) on
// every request: 5% of the CPU of the index.yaml 304 load. It holds at
// most maxMemoPaths paths, so made-up paths cannot grow it without bound;
// once full, other paths are checked every time, as before.
type pathMemo struct {
	m sync.Map // path → struct{}
	n atomic.Int64
}

const maxMemoPaths = 4096

// checkPath is intake.CheckPath, remembered for valid paths.
func (s *Server) checkPath(path string) error {
	if _, ok := s.validPaths.m.Load(path); ok {
		return nil
	}
	if err := intake.CheckPath(path); err != nil {
		return err
	}
	if s.validPaths.n.Add(1) <= maxMemoPaths {
		s.validPaths.m.Store(path, struct{}{})
	}
	return nil
}
