//go:build linux

package server

import (
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lowPriority runs fn on an OS thread of its own at the lowest CPU
// priority (nice 19), and returns the CPU time fn spent. Password checks
// are bcrypt, slow on purpose, and the unauthenticated can ask for them;
// at nice 19 the kernel gives every other thread of chartd the core
// first, so a login flood does not slow the requests that are already
// authenticated, /health among them.
//
// The CPU time, not the wall time, is what the login guard's share is
// counted in: on a busy machine a check at nice 19 waits for the core far
// longer than it computes, and a hold grown from that wait kept the next
// user's login queued past its bound (429 for two users in a row).
//
// The goroutine locks its thread and never unlocks it: Go then ends the
// thread with the goroutine, and the lowered priority with it, so no
// other goroutine ever runs on it (an unprivileged process could not
// raise the priority back).
func lowPriority(fn func()) time.Duration {
	done := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
		wall := time.Now()
		before, okBefore := threadCPU()
		fn()
		after, okAfter := threadCPU()
		if !okBefore || !okAfter {
			done <- time.Since(wall)
			return
		}
		done <- after - before
	}()
	return <-done
}

// threadCPU is the calling thread's user and system time.
func threadCPU() (time.Duration, bool) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
