package sqldb_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is one backend under test: a metadata database and the file:// blob
// store it verifies new blobs against.
type env struct {
	name  string
	dsn   string
	db    *sqldb.DB
	blobs *storage.BlobStore
}

// backend opens a fresh database of one kind.
type backend struct {
	name string
	dsn  func(t testing.TB) string
}

var kinds = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "meta", "chartd.db") }},
	{"postgres", pgtest.DSN},
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// each runs fn as a subtest on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { fn(t, newEnv(t, k)) })
	}
}

func newEnv(t testing.TB, k backend) *env {
	t.Helper()
	ctx := context.Background()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	dsn := k.dsn(t)
	db, err := sqldb.Open(ctx, dsn, testLogger(t), sqldb.WithBlobStater(blobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{name: k.name, dsn: dsn, db: db, blobs: blobs}
}

func (e *env) push(t testing.TB, content []byte) storage.Descriptor {
	t.Helper()
	d, err := e.blobs.Push(context.Background(), "", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) tenant(t testing.TB, path string) storage.Tenant {
	t.Helper()
	tn, err := e.db.EnsureTenant(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// chart pushes the blobs of a chart version (salt varies the content) and
// returns its row, OCI face included.
func (e *env) chart(t testing.TB, tenantID int64, name, version, salt string) storage.ChartVersion {
	t.Helper()
	tgz := e.push(t, fmt.Appendf(nil, "tgz %s %s %s", name, version, salt))
	meta := fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q}`, name, version)
	cfg := e.push(t, meta)
	man := e.push(t, fmt.Appendf(nil, `{"config":%q,"layers":[%q]}`, cfg.Digest, tgz.Digest))
	return storage.ChartVersion{
		TenantID: tenantID, Name: name, Version: version,
		Digest: tgz.Digest, Size: tgz.Size, Metadata: meta,
		ManifestDigest: man.Digest, ManifestSize: man.Size,
		ConfigDigest: cfg.Digest, ConfigSize: cfg.Size,
	}
}

func (e *env) generation(t testing.TB, path string) int64 {
	t.Helper()
	g, err := e.db.Generation(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const imageManifest = "application/vnd.oci.image.manifest.v1+json"

// face is the OCI face row of cv as the intake builds it: the manifest
// referencing the config, the archive and the provenance.
func face(cv storage.ChartVersion) storage.Chart {
	blobs := []digest.Digest{cv.ConfigDigest, cv.Digest}
	if cv.ProvDigest != "" {
		blobs = append(blobs, cv.ProvDigest)
	}
	m := storage.Manifest{Digest: cv.ManifestDigest, Size: cv.ManifestSize, MediaType: imageManifest,
		ConfigDigest: cv.ConfigDigest, ConfigMediaType: "application/vnd.example.chart", Blobs: blobs}
	return storage.Chart{Version: cv, Manifest: m, Tag: strings.ReplaceAll(cv.Version, "+", "_")}
}

// put writes cv with its face as an upload does (the caller received the
// blobs, so they are linked).
func (e *env) put(ctx context.Context, cv storage.ChartVersion, opt storage.PutOptions) error {
	opt.Link = true
	return e.db.PutChart(ctx, face(cv), opt)
}
