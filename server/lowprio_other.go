//go:build !linux

package server

// lowPriority runs fn; only Linux has per-thread priorities.
func lowPriority(fn func()) { fn() }
