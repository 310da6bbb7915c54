// Package ocitest serves chartd's own OCI registry (package oci) for the
// client's tests: over an in-memory blob store (mem://) and a SQLite
// metadata database in the test's temporary directory, on 127.0.0.1. The
// client is thus tested against the server code users run, not against a
// stand-in that agrees with whatever the client does.
package ocitest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	// chartd registers its blob drivers in cmd/chartd; this registry
	// keeps its blobs in memory.
	_ "gocloud.dev/blob/memblob"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/oci"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// Registry is a running registry.
type Registry struct {
	// Host is host:port, for oci:// references.
	Host string
	srv  *httptest.Server
	user string
	pass string
}

// Start serves a registry for the test's lifetime. With a user, every
// request needs that user's basic-auth credentials, the base endpoint /v2/
// included, as chartd's server requires them (it is what `registry login`
// checks a password against).
func Start(t testing.TB, user, pass string) *Registry {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	blobs, err := storage.OpenBlobs(ctx, "mem://", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	meta, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), log, sqldb.WithBlobStater(blobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	r := &Registry{user: user, pass: pass}
	// Charts go through the real intake, as in chartd.
	charts, err := intake.New(intake.Config{Blobs: blobs, Meta: meta, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := oci.New(oci.Config{
		Blobs:  blobs,
		Meta:   meta,
		Charts: charts,
		// Any path works: the last component is the repository, the rest
		// the tenant, as chartd resolves names below the tenant's path.
		Resolve: func(name string) (string, string, error) {
			i := strings.LastIndexByte(name, '/')
			if i < 0 {
				return "", name, nil
			}
			return name[:i], name[i+1:], nil
		},
		Authorize: func(req *http.Request, _ oci.Access) error {
			if !r.authorized(req) {
				return errors.New("unauthorized")
			}
			return nil
		},
		Challenge: func(w http.ResponseWriter, _ *http.Request, _ ...oci.Access) { r.challenge(w) },
		Log:       log,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v2/" && !r.authorized(req) {
			r.challenge(w)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *Registry) authorized(req *http.Request) bool {
	if r.user == "" {
		return true
	}
	u, p, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(r.user)) == 1 && subtle.ConstantTimeCompare([]byte(p), []byte(r.pass)) == 1
}

func (r *Registry) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="ocitest"`)
}

// Manifest pulls the manifest tagged tag in repository name, as a client
// does, and returns it with its digest.
func (r *Registry) Manifest(t testing.TB, name, tag string) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/%s/manifests/%s", r.srv.URL, name, tag), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest+", "+ocispec.MediaTypeImageIndex)
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: %s %s", name, tag, resp.Status, b)
	}
	return b, resp.Header.Get("Docker-Content-Digest")
}

// testWriter sends the registry's warnings to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
