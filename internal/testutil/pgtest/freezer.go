package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Freezer is a TCP proxy in front of a PostgreSQL server that can stop
// passing bytes on, as a frozen server (Server.Freeze) or a network
// partition does: the connections stay open, what is sent is accepted, and
// nothing answers. It freezes one client's view of a shared server, so a
// test needs no server of its own; and it can freeze in the middle of a
// result, which SIGSTOP does only by chance. Bytes held back are passed
// on at the thaw, as a thawed server reads what its kernel buffered.
type Freezer struct {
	ln     net.Listener
	dsn    string
	mu     sync.Mutex
	thawed chan struct{} // closed while bytes flow
}

// NewFreezer starts a proxy to dsn's server, stopped when the test ends.
func NewFreezer(tb testing.TB, dsn string) *Freezer {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	u.Host = ln.Addr().String()
	f := &Freezer{ln: ln, dsn: u.String(), thawed: make(chan struct{})}
	close(f.thawed)
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); f.Thaw(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { f.pipe(s, c) })
			wg.Go(func() { f.pipe(c, s) })
		}
	})
	return f
}

// DSN is the URL of the server through the proxy.
func (f *Freezer) DSN() string { return f.dsn }

// pipe copies src to dst while thawed; either side closing closes both.
func (f *Freezer) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			<-f.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *Freezer) gate() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.thawed
}

// Freeze stops passing bytes on, in both directions.
func (f *Freezer) Freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.thawed:
		f.thawed = make(chan struct{})
	default: // frozen already
	}
}

// Thaw passes bytes on again, the held-back ones first.
func (f *Freezer) Thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.thawed:
	default:
		close(f.thawed)
	}
}
