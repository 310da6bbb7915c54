package server

import (
	_ "embed"
	"net/http"
)

// openAPI documents /api/v1; TestOpenAPICoversRoutes holds it to the router.
//
//go:embed openapi.yaml
var openAPI []byte

// handleOpenAPI is GET /api/v1/openapi.yaml.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(openAPI)
}
