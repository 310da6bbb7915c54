package server

import (
	"context"
	"net/http"
	"time"
)

// pinger is the optional ability of a store to say it is reachable; the
// database and the blob store both have it.
type pinger interface {
	Ping(ctx context.Context) error
}

// readyTimeout bounds each check: a probe that hangs on a dead database is
// worse than one that fails, since the orchestrator waits on it.
const readyTimeout = 2 * time.Second

// handleReady answers whether this replica can serve: /health says the
// process lives, /ready that its database and blob store answer. A replica
// that is draining for shutdown is not ready either, so load balancers stop
// sending it work.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ok := true
	for _, c := range []struct {
		name  string
		store any
	}{{"database", s.meta}, {"storage", s.blobs}} {
		p, can := c.store.(pinger)
		if !can {
			checks[c.name] = "ok"
			continue
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := p.Ping(ctx)
		cancel()
		if err != nil {
			ok = false
			// The cause goes to the log: /ready is public, and a driver's
			// error can name hosts.
			checks[c.name] = "unreachable"
			s.log.WarnContext(r.Context(), "not ready", "check", c.name, "err", err)
			continue
		}
		checks[c.name] = "ok"
	}
	if s.draining() {
		ok = false
		checks["shutdown"] = "draining"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}
