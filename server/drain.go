package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/chartd/chartd/oci"
	"github.com/chartd/chartd/storage"
)

// retryAfterUnavailable is the Retry-After of a 503: long enough for a load
// balancer to have taken a draining replica out, short enough for a retry.
const retryAfterUnavailable = "5"

// errDraining refuses a new upload while the server drains for shutdown.
var errDraining = fmt.Errorf("server is shutting down; retry on another replica: %w", storage.ErrUnavailable)

// writeGate tracks the writes in progress so shutdown can wait for them,
// and refuses new uploads once shutdown began.
type writeGate struct {
	mu       sync.Mutex
	inflight int
	closing  bool
	idle     chan struct{} // closed when closing and inflight reaches 0
	closed   chan struct{} // closed when closing begins
	// onEnter, when set (tests), is called as a write is admitted.
	onEnter func()
}

func newWriteGate() *writeGate {
	return &writeGate{idle: make(chan struct{}), closed: make(chan struct{})}
}

// enter admits a write; a new upload is refused once closing began, the
// rest of a push in progress (its later chunks, its manifest) is not.
func (g *writeGate) enter(newUpload bool) bool {
	g.mu.Lock()
	if g.closing && newUpload {
		g.mu.Unlock()
		return false
	}
	g.inflight++
	hook := g.onEnter
	g.mu.Unlock()
	if hook != nil {
		hook()
	}
	return true
}

func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.closing && g.inflight == 0 {
		close(g.idle)
	}
}

// close stops admitting new uploads; it is idempotent.
func (g *writeGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return
	}
	g.closing = true
	close(g.closed)
	if g.inflight == 0 {
		close(g.idle)
	}
}

func (g *writeGate) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

// wait blocks until the writes in progress are done or ctx ends.
func (g *writeGate) wait(ctx context.Context) error {
	select {
	case <-g.idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("uploads still in progress at the drain timeout: %w", ctx.Err())
	}
}

func (s *Server) draining() bool { return s.gate.isClosing() }

// isWrite: requests that change the store. Reads are served to the end.
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isRegistryPath: the OCI registry's paths, which never move under a
// context path.
func isRegistryPath(p string) bool { return p == "/v2" || strings.HasPrefix(p, "/v2/") }

// startsUpload reports a request that begins a new upload: a chart or
// provenance POST to the ChartMuseum API, or a new blob upload session
// (monolithic, chunked or a mount) on the registry.
func (s *Server) startsUpload(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if isRegistryPath(r.URL.Path) {
		return strings.HasSuffix(r.URL.Path, "/blobs/uploads/") || strings.HasSuffix(r.URL.Path, "/blobs/uploads")
	}
	rt, ok := s.chartRoute(r)
	return ok && (rt.Kind == KindAPICharts || rt.Kind == KindAPIProv)
}

// gateWrites counts writes in progress and, while draining, refuses new
// uploads with 503 and Retry-After in each protocol's own envelope.
func (s *Server) gateWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWrite(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !s.gate.enter(s.startsUpload(r)) {
			if isRegistryPath(r.URL.Path) {
				w.Header().Set("Retry-After", retryAfterUnavailable)
				oci.WriteError(w, r, s.log, errDraining)
				return
			}
			s.writeError(w, r, errDraining)
			return
		}
		defer s.gate.leave()
		next.ServeHTTP(w, r)
	})
}

// Shutdown drains srv, which serves s: new uploads are refused (and /ready
// fails) at once, uploads in progress may finish until ctx ends, then srv
// stops. Reads keep being served while the uploads drain.
func (s *Server) Shutdown(ctx context.Context, srv *http.Server) error {
	s.gate.close()
	drained := s.gate.wait(ctx)
	if drained != nil {
		s.log.WarnContext(ctx, "shutdown: drain timeout reached", "err", drained)
	}
	if drained != nil {
		// Out of time: cut what is left rather than outlive the orchestrator's grace.
		return errors.Join(drained, srv.Close())
	}
	return srv.Shutdown(ctx)
}
