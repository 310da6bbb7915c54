// Package webui serves chartd's web UI under /ui/: the assets `make ui`
// builds from web/ into dist/, embedded so chartd stays one binary. A
// fresh clone has only dist/.gitkeep, so `go build` embeds the committed
// fallback page instead, which says how to build the UI.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist dist-fallback
var files embed.FS

// contextMarker in index.html is replaced by the server's context path,
// so the page's asset and API URLs work under any prefix.
const contextMarker = "__CHARTD_CONTEXT__"

// Handler serves the UI. Every path that is not an asset answers the
// single page, which routes in the browser: chart pages have their own
// URLs that a reload or a shared link opens.
type Handler struct {
	prefix string // <context path>/ui
	index  []byte
	assets map[string]asset
	built  bool
}

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// New builds the handler for a server under contextPath ("" or "/prefix").
func New(contextPath string) (*Handler, error) {
	root, built := "dist-fallback", false
	if _, err := fs.Stat(files, "dist/index.html"); err == nil {
		root, built = "dist", true
	}
	sub, err := fs.Sub(files, root)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	h := &Handler{prefix: contextPath + "/ui", assets: map[string]asset{}, built: built}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		if p == "index.html" {
			h.index = bytes.ReplaceAll(b, []byte(contextMarker), []byte(htmlAttr(contextPath)))
			return nil
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h.assets["/"+p] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	if h.index == nil {
		return nil, fmt.Errorf("webui: %s has no index.html", root)
	}
	return h, nil
}

// Built reports whether the real UI is embedded (false: the fallback page).
func (h *Handler) Built() bool { return h.built }

// htmlAttr escapes a context path for an attribute and a URL (the config
// validates it as a path; this keeps a stray quote harmless anyway).
func htmlAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;").Replace(s)
}

// csp lets the page load only its own script and style and talk only to
// this server; README images may come from anywhere, as on any chart site.
const csp = "default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, h.prefix)
	if p == "" {
		http.Redirect(w, r, h.prefix+"/", http.StatusMovedPermanently)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(p, "/assets/") {
		a, ok := h.assets[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// Asset names are fixed, so a browser revalidates; the ETag keeps
		// that to a 304.
		hd.Set("Content-Type", a.ctype)
		hd.Set("ETag", a.etag)
		hd.Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		hd.Set("Content-Length", fmt.Sprint(len(a.body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(a.body)
		}
		return
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Length", fmt.Sprint(len(h.index)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(h.index)
	}
}
