// Package registrytest is a small in-memory OCI distribution registry for
// tests: enough of the distribution API (blob upload, manifests by tag and
// digest, tag listing, optional basic auth) for oras-go and real Helm to push
// and pull charts against it.
package registrytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Registry is the in-memory state.
type Registry struct {
	// Username and Password, when set, are required on every /v2/ request.
	Username, Password string

	mu        sync.Mutex
	blobs     map[string][]byte
	manifests map[string]manifest // repo@digest
	tags      map[string]map[string]string
	uploads   map[string][]byte
	next      int
}

type manifest struct {
	mediaType string
	data      []byte
}

// Start serves a new registry on 127.0.0.1 for the test's lifetime and
// returns it with its host:port.
func Start(t testing.TB, user, pass string) (*Registry, string) {
	t.Helper()
	r := &Registry{Username: user, Password: pass}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, strings.TrimPrefix(srv.URL, "http://")
}

var (
	blobRe     = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[a-f0-9]{64})$`)
	uploadRe   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([0-9]*)$`)
	manifestRe = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	tagsRe     = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// ServeHTTP implements the subset of the distribution API.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.Username != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != r.Username || p != r.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blobs == nil {
		r.blobs, r.manifests, r.tags, r.uploads = map[string][]byte{}, map[string]manifest{}, map[string]map[string]string{}, map[string][]byte{}
	}
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		w.WriteHeader(http.StatusOK)
	case tagsRe.MatchString(p):
		repo := tagsRe.FindStringSubmatch(p)[1]
		tags := []string{}
		for t := range r.tags[repo] {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		if len(tags) == 0 {
			http.Error(w, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": tags})
	case uploadRe.MatchString(p):
		m := uploadRe.FindStringSubmatch(p)
		repo, id := m[1], m[2]
		body, _ := io.ReadAll(req.Body)
		switch {
		case req.Method == http.MethodPost && id == "":
			if d := req.URL.Query().Get("digest"); d != "" {
				r.putBlob(w, repo, d, body)
				return
			}
			r.next++
			id = fmt.Sprint(r.next)
			r.uploads[id] = body
			w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%s", repo, id))
			w.WriteHeader(http.StatusAccepted)
		case req.Method == http.MethodPatch:
			r.uploads[id] = append(r.uploads[id], body...)
			w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%s", repo, id))
			w.WriteHeader(http.StatusAccepted)
		case req.Method == http.MethodPut:
			data := append(r.uploads[id], body...)
			delete(r.uploads, id)
			r.putBlob(w, repo, req.URL.Query().Get("digest"), data)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	case blobRe.MatchString(p):
		m := blobRe.FindStringSubmatch(p)
		b, ok := r.blobs[m[1]+"@"+m[2]]
		if !ok {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Header().Set("Docker-Content-Digest", m[2])
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	case manifestRe.MatchString(p):
		m := manifestRe.FindStringSubmatch(p)
		repo, ref := m[1], m[2]
		if req.Method == http.MethodPut {
			body, _ := io.ReadAll(req.Body)
			d := digestOf(body)
			r.manifests[repo+"@"+d] = manifest{req.Header.Get("Content-Type"), body}
			if !strings.HasPrefix(ref, "sha256:") {
				if r.tags[repo] == nil {
					r.tags[repo] = map[string]string{}
				}
				r.tags[repo][ref] = d
			}
			w.Header().Set("Docker-Content-Digest", d)
			w.Header().Set("Location", fmt.Sprintf("/v2/%s/manifests/%s", repo, d))
			w.WriteHeader(http.StatusCreated)
			return
		}
		d := ref
		if !strings.HasPrefix(ref, "sha256:") {
			d = r.tags[repo][ref]
		}
		mf, ok := r.manifests[repo+"@"+d]
		if !ok {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", mf.mediaType)
		w.Header().Set("Content-Length", fmt.Sprint(len(mf.data)))
		w.Header().Set("Docker-Content-Digest", d)
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodGet {
			_, _ = w.Write(mf.data)
		}
	default:
		http.Error(w, `{"errors":[{"code":"UNSUPPORTED"}]}`, http.StatusNotFound)
	}
}

func (r *Registry) putBlob(w http.ResponseWriter, repo, d string, data []byte) {
	if d == "" || digestOf(data) != d {
		http.Error(w, `{"errors":[{"code":"DIGEST_INVALID"}]}`, http.StatusBadRequest)
		return
	}
	r.blobs[repo+"@"+d] = data
	w.Header().Set("Docker-Content-Digest", d)
	w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/%s", repo, d))
	w.WriteHeader(http.StatusCreated)
}

// Manifest returns the stored manifest bytes for repo at tag.
func (r *Registry) Manifest(repo, tag string) ([]byte, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.tags[repo][tag]
	return r.manifests[repo+"@"+d].data, d
}
