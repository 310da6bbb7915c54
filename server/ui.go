package server

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chartd/chartd/internal/webui"
)

// uiRoutes serves the web UI under /ui/ ("ui" is a reserved path segment,
// so no tenant can be shadowed by it). The UI reads only /api/v1, with the
// caller's own credentials: it sees nothing the API would not show them.
func (s *Server) uiRoutes(r *mux.Router) {
	ui, err := webui.New(s.cfg.ContextPath)
	if err != nil {
		// Only a broken build can get here; the server still serves charts.
		s.log.Error("web UI unavailable", "err", err)
		return
	}
	get := []string{http.MethodGet, http.MethodHead}
	r.Path("/ui").Methods(get...).Handler(ui)
	r.PathPrefix("/ui/").Methods(get...).Handler(ui)
}
