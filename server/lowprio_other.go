//go:build !linux

package server

import "time"

// lowPriority runs fn and returns how long it took; only Linux has
// per-thread priorities and CPU clocks, so the wall time stands in.
func lowPriority(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}
