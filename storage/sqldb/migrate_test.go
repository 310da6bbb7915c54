package sqldb

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// A session in flight when 00002 (part IDs) is applied stored its parts
// under numbered keys that no longer name anything: the migration expires
// it, so the next cleanup removes its parts and its client starts again.
func TestMigrationExpiresNumberedUploads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO tenants (id, path) VALUES (1, '')`, nil},
		{`INSERT INTO repositories (id, tenant_id, name) VALUES (1, 1, 'app')`, nil},
		{`INSERT INTO uploads (id, repository_id, byte_offset, parts, started, updated) VALUES ('chunked', 1, 10, 2, ?, ?)`, []any{now, now}},
		{`INSERT INTO uploads (id, repository_id, byte_offset, parts, started, updated) VALUES ('fresh', 1, 0, 0, ?, ?)`, []any{now, now}},
	} {
		if _, err := raw.ExecContext(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.sql, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stale, err := db.StaleUploads(ctx, time.Unix(0, 1))
	if err != nil || len(stale) != 1 || stale[0].ID != "chunked" || len(stale[0].Parts) != 0 {
		t.Errorf("stale after the migration: %+v, %v; want the chunked session alone", stale, err)
	}
	if u, err := db.Upload(ctx, 1, "fresh"); err != nil || u.Offset != 0 || len(u.Parts) != 0 {
		t.Errorf("a session without parts: %+v, %v", u, err)
	}
}
