package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/oci"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

func ExampleChartManifest() {
	meta := &chart.Metadata{APIVersion: "v2", Name: "web", Version: "1.0.0+build.1", Description: "A web server"}
	tgz := storage.Descriptor{Digest: digest.FromString("the chart archive"), Size: 1234}
	manifest, config, err := oci.ChartManifest(meta, tgz, nil, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	_ = json.Indent(&out, manifest, "", "  ")
	fmt.Println(string(config))
	fmt.Println(out.String())
	fmt.Println("tag:", oci.TagFromVersion(meta.Version))
	// Output:
	// {"name":"web","version":"1.0.0+build.1","description":"A web server","apiVersion":"v2"}
	// {
	//   "schemaVersion": 2,
	//   "mediaType": "application/vnd.oci.image.manifest.v1+json",
	//   "config": {
	//     "mediaType": "application/vnd.cncf.helm.config.v1+json",
	//     "digest": "sha256:561d92e5f07199fb2d33b152e6bcb7ac127791a1c6eebb8abd408398ffcb5a91",
	//     "size": 87
	//   },
	//   "layers": [
	//     {
	//       "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
	//       "digest": "sha256:eac6f5384ae512cc0a0572fc184e18d6af1e03a44a9c37f5df0fa7a2ac31b2fb",
	//       "size": 1234
	//     }
	//   ],
	//   "annotations": {
	//     "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
	//     "org.opencontainers.image.description": "A web server",
	//     "org.opencontainers.image.title": "web",
	//     "org.opencontainers.image.version": "1.0.0+build.1"
	//   }
	// }
	// tag: 1.0.0_build.1
}

func ExampleParseChartManifest() {
	manifest := []byte(`{"schemaVersion":2,
		"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},
		"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}]}`)
	_, chartLayer, prov, ok, err := oci.ParseChartManifest(manifest)
	fmt.Println(ok, err, chartLayer.Digest.Encoded()[:12], prov == nil)
	_, _, _, ok, err = oci.ParseChartManifest([]byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"}}`))
	fmt.Println(ok, err)
	// Output:
	// true <nil> e3b0c44298fc true
	// false <nil>
}

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

	reg, err := oci.New(oci.Config{
		Blobs: blobs,
		Meta:  db,
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
