package oci_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/oci"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// ExampleNew wires a registry over the real stores, as the server does,
// and mounts it at /v2/.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "oci-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(dir, "blobs"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer blobs.Close()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "meta.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// Charts pushed over OCI become versions through the intake, as
	// uploads through the ChartMuseum API do.
	charts, err := intake.New(intake.Config{Blobs: blobs, Meta: db})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := oci.New(oci.Config{
		Blobs:  blobs,
		Meta:   db,
		Charts: charts,
		// Depth 1: the first name component is the tenant.
		Resolve: func(name string) (string, string, error) {
			tenant, repo, ok := strings.Cut(name, "/")
			if !ok {
				return "", "", fmt.Errorf("%q: want <tenant>/<chart>: %w", name, storage.ErrNotFound)
			}
			return tenant, repo, nil
		},
		Authorize: func(r *http.Request, a oci.Access) error {
			if a.Action != oci.ActionPull {
				return errors.New("read-only")
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/", reg)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, req := range []struct{ method, path string }{
		{"GET", "/v2/"},
		{"GET", "/v2/acme/web/tags/list"},
		{"POST", "/v2/acme/web/blobs/uploads/"},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(req.method, req.path, resp.StatusCode)
	}
	// Output:
	// GET /v2/ 200
	// GET /v2/acme/web/tags/list 404
	// POST /v2/acme/web/blobs/uploads/ 401
}
