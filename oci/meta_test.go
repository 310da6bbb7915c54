package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

var _ Meta = (*sqldb.DB)(nil)

// TestMain starts the throwaway PostgreSQL the backend tests use.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Metadata backends the registry is tested on.
const (
	backendSQLite   = "sqlite"
	backendPostgres = "postgres"
)

// forEachBackend runs fn once per database backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{backendSQLite, backendPostgres} {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// newTestMeta returns the real metadata database on backend: SQLite in the
// test's directory, or a fresh PostgreSQL database. It confirms new blobs
// in the store, as the server configures it.
func newTestMeta(t testing.TB, backend string, blobs storage.Stater) Meta {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "meta.db")
	if backend == backendPostgres {
		dsn = pgtest.DSN(t)
	}
	db, err := sqldb.Open(context.Background(), dsn, nil, sqldb.WithBlobStater(blobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
