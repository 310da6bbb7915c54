package pgtest

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Server is a PostgreSQL server of the test's own, for tests that stop and
// start it (an outage under load). Most tests share Main's server through
// DSN instead.
type Server struct {
	s    *server
	port int
}

// Start runs a server for the test, stopped and removed when it ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(s.stop)
	u, err := url.Parse(s.dsn)
	if err != nil {
		tb.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return &Server{s: s, port: port}
}

// DSN is the administrator's URL of the server's postgres database.
func (p *Server) DSN() string { return p.s.dsn }

// Stop stops the server as an operator's restart does (fast mode: open
// sessions are ended, then the process exits).
func (p *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := p.s.run("pg_ctl", "-D", p.s.data, "-m", "fast", "-w", "stop"); err != nil {
		tb.Fatalf("pgtest: stop: %v", err)
	}
}

// Restart starts a stopped server again on its port.
func (p *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := p.s.launch(p.port); err != nil {
		tb.Fatalf("pgtest: restart: %v", err)
	}
}

// Freeze stops every process of the server with SIGSTOP, as a server that
// hangs does (swapped out, stuck on a dead disk, paused by a hypervisor):
// its connections stay open and the kernel accepts what is sent, and
// nothing answers. Unlike Stop, clients get no refused or reset connection
// to react to. Thaw (registered as a cleanup too, so the server can still
// be stopped) lets it run on.
func (p *Server) Freeze(tb testing.TB) {
	tb.Helper()
	// The postmaster first, so it forks no backend that would escape.
	pm := p.postmaster(tb)
	pids := []int{pm}
	signal(tb, pm, syscall.SIGSTOP)
	tb.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	for _, pid := range children(tb, pm) {
		signal(tb, pid, syscall.SIGSTOP)
		pids = append(pids, pid)
	}
}

// Thaw resumes a frozen server (SIGCONT).
func (p *Server) Thaw(tb testing.TB) {
	tb.Helper()
	pm := p.postmaster(tb)
	for _, pid := range children(tb, pm) {
		signal(tb, pid, syscall.SIGCONT)
	}
	signal(tb, pm, syscall.SIGCONT)
}

func signal(tb testing.TB, pid int, sig syscall.Signal) {
	tb.Helper()
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		tb.Fatalf("pgtest: %v to %d: %v", sig, pid, err)
	}
}

// postmaster is the server's main process.
func (p *Server) postmaster(tb testing.TB) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(p.s.data, "postmaster.pid"))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		tb.Fatalf("pgtest: postmaster.pid: %v", err)
	}
	return pid
}

// children lists the postmaster's children (backends, checkpointer, WAL
// writer, ...). Each leads a process group of its own, so signalling the
// postmaster's group would miss them: they are found by their parent in
// /proc.
func children(tb testing.TB, postmaster int) []int {
	tb.Helper()
	var out []int
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(postmaster) {
			out = append(out, pid)
		}
	}
	return out
}
