package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// ensureBlob records a committed blob globally. The row is inserted, never
// updated: an existing row proves the object exists, because garbage
// collection deletes the object only inside the transaction that deletes the
// row. A new row is checked against the store when a Stater is configured
// (see WithBlobStater).
func (db *DB) ensureBlob(ctx context.Context, tx q, d digest.Digest, size int64) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("sqldb: %w: %q", storage.ErrInvalidDigest, d)
	}
	// A blob another tenant already holds must cost what a new one costs
	// (design invariant 3): the row is written, and the store asked, either
	// way. The no-op update makes an existing row a write like an insert.
	if _, err := tx.exec(ctx, `INSERT INTO blobs (digest, size, created) VALUES (?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET digest = excluded.digest`, string(d), size, now()); err != nil {
		return fmt.Errorf("sqldb: record blob %s: %w", d, err)
	}
	if db.stat == nil {
		return nil
	}
	desc, err := db.stat.Stat(ctx, d)
	if errors.Is(err, storage.ErrNotFound) {
		return &storage.MissingBlobError{Digest: d}
	}
	if err != nil {
		return fmt.Errorf("sqldb: stat blob %s: %w", d, err)
	}
	if desc.Size != size {
		return fmt.Errorf("sqldb: blob %s is %d bytes, not %d: %w", d, desc.Size, size, storage.ErrSizeMismatch)
	}
	return nil
}

// ensureRepo returns the id of repository (tenant, name), creating it.
func ensureRepo(ctx context.Context, tx q, tenantID int64, name string) (int64, error) {
	if _, err := tx.exec(ctx, `INSERT INTO repositories (tenant_id, name) VALUES (?, ?) ON CONFLICT (tenant_id, name) DO NOTHING`, tenantID, name); err != nil {
		if isForeignKey(err) {
			return 0, fmt.Errorf("sqldb: tenant %d: %w", tenantID, storage.ErrNotFound)
		}
		return 0, fmt.Errorf("sqldb: create repository %q: %w", name, err)
	}
	var id int64
	if err := tx.row(ctx, `SELECT id FROM repositories WHERE tenant_id = ? AND name = ?`, tenantID, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqldb: repository %q: %w", name, err)
	}
	return id, nil
}

// linkBlob links a recorded blob in a repository, refreshing the link's age
// so GC leaves it alone for another grace period.
func linkBlob(ctx context.Context, tx q, repoID int64, d digest.Digest) error {
	_, err := tx.exec(ctx, `INSERT INTO repo_blobs (repository_id, digest, created) VALUES (?, ?, ?)
		ON CONFLICT (repository_id, digest) DO UPDATE SET created = excluded.created`, repoID, string(d), now())
	if isForeignKey(err) {
		// Repositories are never deleted, so the missing reference is the
		// blob row, which a concurrent GC deleted after ensureBlob saw it:
		// the caller must push the blob again, and MissingBlobError says so.
		// (The transaction is aborted on PostgreSQL: nothing more can be
		// asked inside it.)
		return &storage.MissingBlobError{Digest: d}
	}
	if err != nil {
		return fmt.Errorf("sqldb: link blob %s: %w", d, err)
	}
	return nil
}

// upsertManifest stores the manifest row and its references. A manifest
// that is already there is refreshed instead: the update takes its row lock
// and renews created, so a concurrent GC pass (which deletes only old rows)
// cannot remove a manifest that is being tagged again.
func upsertManifest(ctx context.Context, tx q, m storage.Manifest) error {
	ann := []byte("{}")
	if len(m.Annotations) > 0 {
		var err error
		if ann, err = json.Marshal(m.Annotations); err != nil {
			return fmt.Errorf("sqldb: annotations: %w", err)
		}
	}
	_, err := tx.exec(ctx, `INSERT INTO manifests (repository_id, digest, size, media_type, artifact_type, subject,
		config_digest, config_media_type, annotations, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (repository_id, digest) DO UPDATE SET created = excluded.created`,
		m.RepositoryID, string(m.Digest), m.Size, m.MediaType, m.ArtifactType, string(m.Subject),
		string(m.ConfigDigest), m.ConfigMediaType, string(ann), toNanos(m.Created))
	if err != nil {
		return fmt.Errorf("sqldb: store manifest %s: %w", m.Digest, err)
	}
	refs := func(kind string, ds []digest.Digest) error {
		for _, d := range ds {
			_, err := tx.exec(ctx, `INSERT INTO manifest_refs (repository_id, manifest_digest, digest, kind) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, m.RepositoryID, string(m.Digest), string(d), kind)
			if err != nil {
				return fmt.Errorf("sqldb: manifest reference %s: %w", d, err)
			}
		}
		return nil
	}
	if err := refs(refBlob, m.Blobs); err != nil {
		return err
	}
	return refs(refManifest, m.Children)
}

// Kinds of manifest_refs rows.
const (
	refBlob     = "b"
	refManifest = "m"
)

func putTag(ctx context.Context, tx q, repoID int64, tag string, d digest.Digest) error {
	_, err := tx.exec(ctx, `INSERT INTO tags (repository_id, name, manifest_digest) VALUES (?, ?, ?)
		ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest`, repoID, tag, string(d))
	if err != nil {
		return fmt.Errorf("sqldb: tag %q: %w", tag, err)
	}
	return nil
}

// Repository implements storage.Repositories.
func (db *DB) Repository(ctx context.Context, tenantID int64, name string, create bool) (storage.Repository, error) {
	r := storage.Repository{TenantID: tenantID, Name: name}
	err := db.read().row(ctx, `SELECT id FROM repositories WHERE tenant_id = ? AND name = ?`, tenantID, name).Scan(&r.ID)
	switch {
	case err == nil:
		return r, nil
	case !errors.Is(err, sql.ErrNoRows):
		return r, fmt.Errorf("sqldb: repository %q: %w", name, err)
	case !create:
		return r, fmt.Errorf("sqldb: repository %q: %w", name, storage.ErrNotFound)
	}
	// Only a missing repository costs a write: every blob and manifest of a
	// push asks for its repository, and writers are serialised.
	err = db.write(ctx, func(tx q) error {
		var err error
		r.ID, err = ensureRepo(ctx, tx, tenantID, name)
		return err
	})
	return r, err
}

// Catalog implements storage.Repositories. It lists repositories holding at
// least one manifest (an abandoned upload does not make a repository), in
// byte order of the full name.
func (db *DB) Catalog(ctx context.Context, last string, n int, allowed func(tenantPath string) bool) ([]string, error) {
	const full = `CASE WHEN t.path = '' THEN r.name ELSE t.path || '/' || r.name END`
	rows, err := db.read().query(ctx, `SELECT `+full+` FROM repositories r JOIN tenants t ON t.id = r.tenant_id
		WHERE `+full+` > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
		ORDER BY `+full, last)
	if err != nil {
		return nil, fmt.Errorf("sqldb: catalog: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() && (n <= 0 || len(out) < n) {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqldb: catalog: %w", err)
		}
		if allowed == nil || allowed(name) {
			out = append(out, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: catalog: %w", err)
	}
	return out, nil
}

// LinkBlob implements storage.BlobLinks.
func (db *DB) LinkBlob(ctx context.Context, repoID int64, d storage.Descriptor) error {
	return db.write(ctx, func(tx q) error {
		if err := db.ensureBlob(ctx, tx, d.Digest, d.Size); err != nil {
			return err
		}
		return linkBlob(ctx, tx, repoID, d.Digest)
	})
}

// LinkedBlob implements storage.BlobLinks.
func (db *DB) LinkedBlob(ctx context.Context, repoID int64, d digest.Digest) (storage.Descriptor, error) {
	desc := storage.Descriptor{Digest: d}
	err := db.read().row(ctx, `SELECT b.size FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest
		WHERE rb.repository_id = ? AND rb.digest = ?`, repoID, string(d)).Scan(&desc.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return desc, fmt.Errorf("sqldb: blob %s: %w", d, storage.ErrNotFound)
	}
	if err != nil {
		return desc, fmt.Errorf("sqldb: blob %s: %w", d, err)
	}
	return desc, nil
}

// TenantBlob implements storage.BlobLinks.
func (db *DB) TenantBlob(ctx context.Context, tenantID int64, d digest.Digest) (storage.Descriptor, error) {
	desc := storage.Descriptor{Digest: d}
	err := db.read().row(ctx, `SELECT b.size FROM repo_blobs rb JOIN repositories r ON r.id = rb.repository_id
		JOIN blobs b ON b.digest = rb.digest WHERE r.tenant_id = ? AND rb.digest = ? LIMIT 1`, tenantID, string(d)).Scan(&desc.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return desc, fmt.Errorf("sqldb: blob %s: %w", d, storage.ErrNotFound)
	}
	if err != nil {
		return desc, fmt.Errorf("sqldb: blob %s: %w", d, err)
	}
	return desc, nil
}

// UnlinkBlob implements storage.BlobLinks.
func (db *DB) UnlinkBlob(ctx context.Context, repoID int64, d digest.Digest) error {
	return db.write(ctx, func(tx q) error {
		n, err := tx.exec(ctx, `DELETE FROM repo_blobs WHERE repository_id = ? AND digest = ?`, repoID, string(d))
		if err != nil {
			return fmt.Errorf("sqldb: unlink blob %s: %w", d, err)
		}
		if n == 0 {
			return fmt.Errorf("sqldb: blob %s: %w", d, storage.ErrNotFound)
		}
		return nil
	})
}

// PutManifest implements storage.Manifests.
func (db *DB) PutManifest(ctx context.Context, m storage.Manifest, tag string) error {
	if err := m.Digest.Validate(); err != nil {
		return fmt.Errorf("sqldb: manifest: %w: %q", storage.ErrInvalidDigest, m.Digest)
	}
	if m.Chart != nil {
		return errors.New("sqldb: a chart's manifest is written by PutChart")
	}
	return db.write(ctx, func(tx q) error {
		if err := db.ensureBlob(ctx, tx, m.Digest, m.Size); err != nil {
			return err
		}
		// Refreshing each link both checks it and holds it against GC.
		if err := useBlobs(ctx, tx, m.RepositoryID, m.Blobs, false); err != nil {
			return err
		}
		for _, d := range m.Children {
			n, err := tx.exec(ctx, `UPDATE manifests SET created = ? WHERE repository_id = ? AND digest = ?`, now(), m.RepositoryID, string(d))
			if err != nil {
				return fmt.Errorf("sqldb: check manifest %s: %w", d, err)
			}
			if n == 0 {
				return &storage.MissingBlobError{Digest: d}
			}
		}
		if err := upsertManifest(ctx, tx, m); err != nil {
			return err
		}
		if tag == "" {
			return nil
		}
		if err := keepChartTag(ctx, tx, m.RepositoryID, tag); err != nil {
			return err
		}
		return putTag(ctx, tx, m.RepositoryID, tag, m.Digest)
	})
}

// keepChartTag refuses to move a tag that is a chart version's: its OCI
// face would then be another manifest than the one index.yaml describes.
func keepChartTag(ctx context.Context, tx q, repoID int64, tag string) error {
	var version string
	err := tx.row(ctx, `SELECT c.version FROM tags g JOIN repositories r ON r.id = g.repository_id
		JOIN chart_versions c ON c.tenant_id = r.tenant_id AND c.name = r.name AND c.manifest_digest = g.manifest_digest
		WHERE g.repository_id = ? AND g.name = ?`, repoID, tag).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("sqldb: tag %q: %w", tag, err)
	}
	return fmt.Errorf("sqldb: tag %q is chart version %s, which only a chart push can replace (or delete the version first): %w",
		tag, version, storage.ErrExists)
}

const manifestColumns = `repository_id, digest, size, media_type, artifact_type, subject, config_digest, config_media_type, annotations, created`

func scanManifest(sc interface{ Scan(...any) error }) (storage.Manifest, error) {
	var (
		m                    storage.Manifest
		dg, subj, conf, anns string
		created              int64
	)
	if err := sc.Scan(&m.RepositoryID, &dg, &m.Size, &m.MediaType, &m.ArtifactType, &subj, &conf, &m.ConfigMediaType, &anns, &created); err != nil {
		return m, err
	}
	m.Digest, m.Subject, m.ConfigDigest, m.Created = digest.Digest(dg), digest.Digest(subj), digest.Digest(conf), fromNanos(created)
	if anns != "{}" && anns != "" {
		if err := json.Unmarshal([]byte(anns), &m.Annotations); err != nil {
			return m, fmt.Errorf("annotations of %s: %w", dg, err)
		}
	}
	return m, nil
}

// Manifest implements storage.Manifests. Blobs and Children come back
// sorted by digest (the manifest bytes hold their real order); Chart is set
// when the manifest is a chart version's OCI face.
func (db *DB) Manifest(ctx context.Context, repoID int64, reference string) (storage.Manifest, error) {
	x := db.read()
	var r row
	if d, err := digest.Parse(reference); err == nil {
		r = x.row(ctx, `SELECT `+manifestColumns+` FROM manifests WHERE repository_id = ? AND digest = ?`, repoID, string(d))
	} else {
		r = x.row(ctx, `SELECT `+manifestColumns+` FROM manifests WHERE repository_id = ? AND digest =
			(SELECT manifest_digest FROM tags WHERE repository_id = ? AND name = ?)`, repoID, repoID, reference)
	}
	m, err := scanManifest(r)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("sqldb: manifest %q: %w", reference, storage.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("sqldb: manifest %q: %w", reference, err)
	}
	rows, err := x.query(ctx, `SELECT digest, kind FROM manifest_refs WHERE repository_id = ? AND manifest_digest = ? ORDER BY digest`, repoID, string(m.Digest))
	if err != nil {
		return m, fmt.Errorf("sqldb: manifest references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, kind string
		if err := rows.Scan(&d, &kind); err != nil {
			return m, fmt.Errorf("sqldb: manifest references: %w", err)
		}
		if kind == refManifest {
			m.Children = append(m.Children, digest.Digest(d))
		} else {
			m.Blobs = append(m.Blobs, digest.Digest(d))
		}
	}
	if err := rows.Err(); err != nil {
		return m, fmt.Errorf("sqldb: manifest references: %w", err)
	}
	cv, err := scanChart(x.row(ctx, `SELECT `+prefixed("c", chartColumns)+` FROM chart_versions c
		JOIN repositories r ON r.tenant_id = c.tenant_id AND r.name = c.name
		WHERE r.id = ? AND c.manifest_digest = ?`, repoID, string(m.Digest)))
	switch {
	case err == nil:
		m.Chart = &cv
	case !errors.Is(err, sql.ErrNoRows):
		return m, fmt.Errorf("sqldb: chart of manifest %s: %w", m.Digest, err)
	}
	return m, nil
}

// DeleteManifest implements storage.Manifests: the manifest, its tags, and
// the chart version whose OCI face it is (with a generation bump).
func (db *DB) DeleteManifest(ctx context.Context, repoID int64, d digest.Digest) error {
	return db.write(ctx, func(tx q) error {
		var tenantID int64
		var name string
		err := tx.row(ctx, `SELECT r.tenant_id, r.name FROM manifests m JOIN repositories r ON r.id = m.repository_id
			WHERE m.repository_id = ? AND m.digest = ?`, repoID, string(d)).Scan(&tenantID, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqldb: manifest %s: %w", d, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: manifest %s: %w", d, err)
		}
		var version string
		err = tx.row(ctx, `SELECT version FROM chart_versions WHERE tenant_id = ? AND name = ? AND manifest_digest = ?`, tenantID, name, string(d)).Scan(&version)
		switch {
		case err == nil:
			if err := bumpGeneration(ctx, tx, tenantID); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `DELETE FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`, tenantID, name, version); err != nil {
				return fmt.Errorf("sqldb: delete chart version: %w", err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqldb: chart of manifest %s: %w", d, err)
		}
		return deleteManifest(ctx, tx, repoID, d)
	})
}

// DeleteTag implements storage.Manifests.
func (db *DB) DeleteTag(ctx context.Context, repoID int64, tag string) error {
	return db.write(ctx, func(tx q) error {
		n, err := tx.exec(ctx, `DELETE FROM tags WHERE repository_id = ? AND name = ?`, repoID, tag)
		if err != nil {
			return fmt.Errorf("sqldb: delete tag %q: %w", tag, err)
		}
		if n == 0 {
			return fmt.Errorf("sqldb: tag %q: %w", tag, storage.ErrNotFound)
		}
		return nil
	})
}

// Tags implements storage.Manifests.
func (db *DB) Tags(ctx context.Context, repoID int64, last string, n int) ([]string, error) {
	rows, err := db.read().query(ctx, `SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?`, repoID, last, limit(n))
	if err != nil {
		return nil, fmt.Errorf("sqldb: tags: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("sqldb: tags: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: tags: %w", err)
	}
	return out, nil
}

// Referrers implements storage.Manifests, ordered by digest. The caller
// stores the effective artifact type (the config media type when the
// manifest has no artifactType), so the filter is a plain comparison.
func (db *DB) Referrers(ctx context.Context, repoID int64, d digest.Digest, artifactType, last string, n int) ([]storage.Manifest, error) {
	query, args := `SELECT `+manifestColumns+` FROM manifests WHERE repository_id = ? AND subject = ? AND digest > ?`, []any{repoID, string(d), last}
	if artifactType != "" {
		query, args = query+` AND artifact_type = ?`, append(args, artifactType)
	}
	rows, err := db.read().query(ctx, query+` ORDER BY digest LIMIT ?`, append(args, limit(n))...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: referrers: %w", err)
	}
	defer rows.Close()
	var out []storage.Manifest
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return nil, fmt.Errorf("sqldb: referrers: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: referrers: %w", err)
	}
	return out, nil
}

// limit is the LIMIT of a listing of at most n rows, n <= 0 meaning all. A
// parameter rather than text in the query, so the statement stays one.
func limit(n int) int64 {
	if n <= 0 {
		return math.MaxInt32
	}
	return int64(n)
}

// prefixed qualifies each column of a comma-separated list with alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// deleteManifest removes a manifest with its tags and references.
func deleteManifest(ctx context.Context, tx q, repoID int64, d digest.Digest) error {
	for _, query := range []string{
		`DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ?`,
		`DELETE FROM manifest_refs WHERE repository_id = ? AND manifest_digest = ?`,
		`DELETE FROM manifests WHERE repository_id = ? AND digest = ?`,
	} {
		if _, err := tx.exec(ctx, query, repoID, string(d)); err != nil {
			return fmt.Errorf("sqldb: delete manifest %s: %w", d, err)
		}
	}
	return nil
}
