package sqldb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// A chart arriving through the ChartMuseum API: its blobs are committed to
// the store first, then one transaction records the version with both faces.
func ExampleDB_PutChart() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "chartd-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(dir, "blobs"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer blobs.Close()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "chartd.db"), nil, sqldb.WithBlobStater(blobs))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	tenant, err := db.EnsureTenant(ctx, "org/team")
	if err != nil {
		log.Fatal(err)
	}
	meta := `{"apiVersion":"v2","name":"nginx","version":"1.0.0+b1"}`
	push := func(s string) storage.Descriptor {
		d, err := blobs.Push(ctx, "", strings.NewReader(s))
		if err != nil {
			log.Fatal(err)
		}
		return d
	}
	tgz, cfg, man := push("the .tgz bytes"), push(meta), push("the OCI manifest bytes")
	// The caller builds both faces (chartd's intake does, in Helm's layout).
	err = db.PutChart(ctx, storage.Chart{
		Version: storage.ChartVersion{
			TenantID: tenant.ID, Name: "nginx", Version: "1.0.0+b1",
			Digest: tgz.Digest, Size: tgz.Size, Metadata: []byte(meta),
			ManifestDigest: man.Digest, ManifestSize: man.Size, ConfigDigest: cfg.Digest, ConfigSize: cfg.Size,
		},
		Manifest: storage.Manifest{
			Digest: man.Digest, Size: man.Size, MediaType: "application/vnd.oci.image.manifest.v1+json",
			ConfigDigest: cfg.Digest, ConfigMediaType: "application/vnd.cncf.helm.config.v1+json",
			Blobs: []digest.Digest{cfg.Digest, tgz.Digest},
		},
		Tag: "1.0.0_b1",
	}, storage.PutOptions{Link: true})
	if err != nil {
		log.Fatal(err)
	}

	gen, _ := db.Generation(ctx, "org/team")
	repo, _ := db.Repository(ctx, tenant.ID, "nginx", false)
	tags, _ := db.Tags(ctx, repo.ID, "", 0)
	fmt.Println("generation", gen, "tags", tags)
	// Output: generation 1 tags [1.0.0_b1]
}
