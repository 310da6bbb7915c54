//go:build linux

package server

import (
	"runtime"
	"syscall"
)

// lowPriority runs fn on an OS thread of its own at the lowest CPU
// priority (nice 19). Password checks are bcrypt, slow on purpose, and the
// unauthenticated can ask for them; at nice 19 the kernel gives every
// other thread of chartd the core first, so a login flood does not slow
// the requests that are already authenticated, /health among them.
//
// The goroutine locks its thread and never unlocks it: Go then ends the
// thread with the goroutine, and the lowered priority with it, so no
// other goroutine ever runs on it (an unprivileged process could not
// raise the priority back).
func lowPriority(fn func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
		defer close(done)
		fn()
	}()
	<-done
}
