package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// migrationRepositoryPaths is the version of splitRepositoryPaths. It
// leaves room below it for SQL migrations.
const migrationRepositoryPaths = 20

// goMigrations are the migrations SQL cannot express in both dialects.
func (db *DB) goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(migrationRepositoryPaths, &goose.GoFunc{RunTx: db.splitRepositoryPaths}, nil),
	}
}

// splitRepositoryPaths moves repositories to the repository path they
// are named under. Repositories were kept per tenant, with any path below
// the tenant in their name (tenant "" at --depth=0, repository
// "org/image"); they are kept per repository path now (path "org",
// repository "image"), the path the ChartMuseum API serves a chart's
// index.yaml under. Manifests, tags, links and uploads hang off the
// repository's id and move with it. Only repositories of artifacts that are
// no charts can have such names: a chart's repository name was its chart
// name. A repository whose new place is taken is left where it is.
func (db *DB) splitRepositoryPaths(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, t.path, r.name FROM repositories r JOIN tenants t ON t.id = r.tenant_id
		WHERE r.name LIKE '%/%' ORDER BY r.id`)
	if err != nil {
		return fmt.Errorf("sqldb: repository paths: %w", err)
	}
	type repo struct {
		id         int64
		path, name string
	}
	var nested []repo
	for rows.Next() {
		var r repo
		if err := rows.Scan(&r.id, &r.path, &r.name); err != nil {
			rows.Close()
			return fmt.Errorf("sqldb: repository paths: %w", err)
		}
		nested = append(nested, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqldb: repository paths: %w", err)
	}
	for _, r := range nested {
		i := strings.LastIndexByte(r.name, '/')
		path, name := r.name[:i], r.name[i+1:]
		if r.path != "" {
			path = r.path + "/" + path
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO tenants (path, generation) VALUES (?, 0) ON CONFLICT (path) DO NOTHING`), path); err != nil {
			return fmt.Errorf("sqldb: create repository path %q: %w", path, err)
		}
		res, err := tx.ExecContext(ctx, db.rebind(`UPDATE repositories SET tenant_id = (SELECT id FROM tenants WHERE path = ?), name = ?
			WHERE id = ? AND NOT EXISTS (SELECT 1 FROM repositories o JOIN tenants t ON t.id = o.tenant_id WHERE t.path = ? AND o.name = ?)`),
			path, name, r.id, path, name)
		if err != nil {
			return fmt.Errorf("sqldb: move repository %q: %w", r.name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			db.log.WarnContext(ctx, "sqldb: repository not moved to its path: the name is taken", "path", path, "name", name)
		}
	}
	return nil
}
