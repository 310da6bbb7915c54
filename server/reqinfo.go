package server

import (
	"context"
	"sync"
)

// requestInfo is what a request's handling learns about it that the access
// log, written after the handler returns, must report: who the caller turned
// out to be and which tenant they addressed. The logging middleware puts an
// empty one in the context; the authorizer fills it in. It is a mutable
// holder because a context value set inside the handler is invisible to the
// middleware that wraps it.
type requestInfo struct {
	mu      sync.Mutex
	subject string // authenticated user name; "" for anonymous
	tenant  string

	// The ChartMuseum route observe parsed the path into before the
	// handler ran (route nil: none), so the router's matcher and the
	// handler do not parse it again; parsed is false when observe did
	// not parse it, path what it parsed. Written once before the handler
	// runs, then only read.
	parsed bool
	path   string
	route  *Route
}

type requestInfoKey struct{}

// requestState is what observe keeps for one request, in one allocation:
// the info the handler fills in, the route the path was parsed into, and
// the writer that watches the answer.
type requestState struct {
	info  requestInfo
	route Route
	sw    statusWriter
}

// withRequestState returns ctx carrying a fresh requestState's info.
func withRequestState(ctx context.Context) (context.Context, *requestState) {
	st := &requestState{}
	return context.WithValue(ctx, requestInfoKey{}, &st.info), st
}

// requestInfoFrom returns the request's info, or nil outside the middleware.
func requestInfoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// setRoute records how observe classified the request's path.
func (ri *requestInfo) setRoute(path string, d reqRoute) {
	ri.parsed, ri.path, ri.route = d.parsed, path, d.chart
}

// setSubject records the authenticated caller; safe on a nil receiver.
func (ri *requestInfo) setSubject(subject, tenant string) {
	if ri == nil {
		return
	}
	ri.mu.Lock()
	ri.subject, ri.tenant = subject, tenant
	ri.mu.Unlock()
}

// get returns the recorded caller and tenant; safe on a nil receiver.
func (ri *requestInfo) get() (subject, tenant string) {
	if ri == nil {
		return "", ""
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return ri.subject, ri.tenant
}
