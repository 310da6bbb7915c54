package pgtest

import (
	"net/url"
	"strconv"
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
