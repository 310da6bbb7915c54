package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// validChart checks that a chart's two faces describe one chart: the
// manifest row is the version's face and references its archive, config
// and provenance.
func validChart(c storage.Chart) error {
	cv, m := c.Version, c.Manifest
	if err := validRecord(cv); err != nil {
		return err
	}
	if c.Tag == "" {
		return errors.New("sqldb: chart version needs a tag")
	}
	// A new version has both faces: its config and manifest are not
	// optional, as they may be in a journal record.
	for _, d := range []digest.Digest{cv.ConfigDigest, cv.ManifestDigest} {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("sqldb: %w: %q", storage.ErrInvalidDigest, d)
		}
	}
	if m.Digest != cv.ManifestDigest || m.Size != cv.ManifestSize || m.ConfigDigest != cv.ConfigDigest {
		return errors.New("sqldb: the manifest row is not the chart version's OCI face")
	}
	for _, d := range []digest.Digest{cv.Digest, cv.ProvDigest, cv.ConfigDigest} {
		if d != "" && !slices.Contains(m.Blobs, d) {
			return fmt.Errorf("sqldb: the chart's manifest does not reference %s", d)
		}
	}
	return nil
}

// PutChart implements storage.Charts.
func (db *DB) PutChart(ctx context.Context, c storage.Chart, opt storage.PutOptions) error {
	if err := validChart(c); err != nil {
		return err
	}
	cv := c.Version
	if err := db.write(ctx, func(tx q) error { return db.putChart(ctx, tx, c, opt) }); err != nil {
		return fmt.Errorf("put chart %s-%s: %w", cv.Name, cv.Version, err)
	}
	return nil
}

// PutCharts writes many charts in one transaction, all or none: a bulk
// import (or a benchmark's corpus) then costs one commit, not one each.
func (db *DB) PutCharts(ctx context.Context, cs []storage.Chart, opt storage.PutOptions) error {
	for _, c := range cs {
		if err := validChart(c); err != nil {
			return err
		}
	}
	return db.write(ctx, func(tx q) error {
		for _, c := range cs {
			if err := db.putChart(ctx, tx, c, opt); err != nil {
				return fmt.Errorf("put chart %s-%s: %w", c.Version.Name, c.Version.Version, err)
			}
		}
		return nil
	})
}

// putChart is PutChart's transaction.
func (db *DB) putChart(ctx context.Context, tx q, c storage.Chart, opt storage.PutOptions) error {
	cv, m := c.Version, c.Manifest
	// Locks first, in one order for every writer: the quota's tenant,
	// then the version's (the generation bump).
	if opt.Quota.Max > 0 && opt.Quota.Nested {
		if err := lockTenantPath(ctx, tx, opt.Quota.Tenant); err != nil {
			return err
		}
	}
	if err := bumpGeneration(ctx, tx, cv.TenantID); err != nil {
		return err
	}
	if opt.Quota.Max > 0 {
		if err := checkQuota(ctx, tx, cv, opt.Quota); err != nil {
			return err
		}
	}
	for _, b := range []storage.Descriptor{{Digest: cv.Digest, Size: cv.Size}, {Digest: cv.ProvDigest, Size: cv.ProvSize},
		{Digest: cv.ConfigDigest, Size: cv.ConfigSize}, {Digest: cv.ManifestDigest, Size: cv.ManifestSize}} {
		if b.Digest == "" {
			continue
		}
		if err := db.ensureBlob(ctx, tx, b.Digest, b.Size); err != nil {
			return err
		}
	}
	repoID, err := ensureRepo(ctx, tx, cv.TenantID, cv.Name)
	if err != nil {
		return err
	}
	if err := useBlobs(ctx, tx, repoID, m.Blobs, opt.Link); err != nil {
		return err
	}
	old, err := putChartRow(ctx, tx, cv, opt)
	if err != nil {
		return err
	}
	return putFace(ctx, tx, repoID, old, c)
}

// lockTenantPath takes the row lock of the tenant at path, creating the
// row: the quota of a tenant whose versions live in several rows (paths
// below it) is exact only when its writers are serialised on one row.
func lockTenantPath(ctx context.Context, tx q, path string) error {
	if _, err := tx.exec(ctx, `INSERT INTO tenants (path, generation) VALUES (?, 0) ON CONFLICT (path) DO NOTHING`, path); err != nil {
		return fmt.Errorf("sqldb: create tenant %q: %w", path, err)
	}
	if _, err := tx.exec(ctx, `UPDATE tenants SET generation = generation WHERE path = ?`, path); err != nil {
		return fmt.Errorf("sqldb: lock tenant %q: %w", path, err)
	}
	return nil
}

// checkQuota fails with ErrLimit when the quota's tenant holds q.Max
// versions other than cv's. Counting at most Max rows keeps the check's
// cost bounded by the limit, not by the number of versions.
func checkQuota(ctx context.Context, tx q, cv storage.ChartVersion, qt storage.Quota) error {
	where, args := `t.path = ?`, []any{qt.Tenant}
	switch {
	case qt.Nested && qt.Tenant == "":
		where, args = `1 = 1`, nil
	case qt.Nested:
		prefix := qt.Tenant + "/"
		where, args = `(t.path = ? OR substr(t.path, 1, ?) = ?)`, []any{qt.Tenant, len(prefix), prefix}
	}
	args = append(args, cv.TenantID, cv.Name, cv.Version, qt.Max)
	var n int
	err := tx.row(ctx, `SELECT count(*) FROM (SELECT 1 FROM chart_versions c JOIN tenants t ON t.id = c.tenant_id
		WHERE `+where+` AND NOT (c.tenant_id = ? AND c.name = ? AND c.version = ?) LIMIT ?) AS n`, args...).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqldb: count versions: %w", err)
	}
	if n >= qt.Max {
		return fmt.Errorf("sqldb: %d chart versions: %w", n, storage.ErrLimit)
	}
	return nil
}

// useBlobs links the chart's blobs in its repository (link: the caller
// received them) or checks that they are linked there already, refreshing
// each link so garbage collection leaves it alone.
func useBlobs(ctx context.Context, tx q, repoID int64, blobs []digest.Digest, link bool) error {
	for _, d := range blobs {
		if link {
			if err := linkBlob(ctx, tx, repoID, d); err != nil {
				return err
			}
			continue
		}
		n, err := tx.exec(ctx, `UPDATE repo_blobs SET created = ? WHERE repository_id = ? AND digest = ?`, now(), repoID, string(d))
		if err != nil {
			return fmt.Errorf("sqldb: check blob %s: %w", d, err)
		}
		if n == 0 {
			return &storage.MissingBlobError{Digest: d}
		}
	}
	return nil
}

// putChartRow writes the chart_versions row, letting the primary key decide
// a conflict. An existing version is replaced with Overwrite, re-pointed
// at the new face with Repush when its archive and provenance are the same,
// and ErrExists otherwise. It returns the manifest the version had, which
// is no longer its face.
func putChartRow(ctx context.Context, tx q, cv storage.ChartVersion, opt storage.PutOptions) (oldManifest digest.Digest, err error) {
	n, err := tx.exec(ctx, `INSERT INTO chart_versions (`+chartColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, name, version) DO NOTHING`,
		cv.TenantID, cv.Name, cv.Version, string(cv.Digest), cv.Size, nullString(string(cv.ProvDigest)), cv.ProvSize,
		string(cv.Metadata), toNanos(cv.Created), cv.Signer, cv.SignerFingerprint, cv.ServerSigned,
		string(cv.ManifestDigest), cv.ManifestSize, string(cv.ConfigDigest), cv.ConfigSize)
	if isForeignKey(err) {
		return "", fmt.Errorf("sqldb: tenant %d: %w", cv.TenantID, storage.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqldb: insert chart version: %w", err)
	}
	if n == 1 {
		return "", putTerms(ctx, tx, cv)
	}
	var dg string
	var prov, manifest sql.NullString
	err = tx.row(ctx, `SELECT digest, prov_digest, manifest_digest FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`,
		cv.TenantID, cv.Name, cv.Version).Scan(&dg, &prov, &manifest)
	if err != nil {
		return "", fmt.Errorf("sqldb: chart version %s-%s: %w", cv.Name, cv.Version, err)
	}
	oldManifest = digest.Digest(manifest.String)
	same := dg == string(cv.Digest) && prov.String == string(cv.ProvDigest)
	switch {
	case opt.Repush && same:
		_, err = tx.exec(ctx, `UPDATE chart_versions SET manifest_digest = ?, manifest_size = ?, config_digest = ?, config_size = ?
			WHERE tenant_id = ? AND name = ? AND version = ?`,
			string(cv.ManifestDigest), cv.ManifestSize, string(cv.ConfigDigest), cv.ConfigSize, cv.TenantID, cv.Name, cv.Version)
	case opt.Overwrite:
		_, err = tx.exec(ctx, `UPDATE chart_versions SET digest = ?, size = ?, prov_digest = ?, prov_size = ?, metadata = ?, created = ?,
			signer = ?, signer_fingerprint = ?, server_signed = ?, manifest_digest = ?, manifest_size = ?, config_digest = ?, config_size = ?
			WHERE tenant_id = ? AND name = ? AND version = ?`,
			string(cv.Digest), cv.Size, nullString(string(cv.ProvDigest)), cv.ProvSize, string(cv.Metadata), toNanos(cv.Created),
			cv.Signer, cv.SignerFingerprint, cv.ServerSigned, string(cv.ManifestDigest), cv.ManifestSize, string(cv.ConfigDigest), cv.ConfigSize,
			cv.TenantID, cv.Name, cv.Version)
	default:
		return "", fmt.Errorf("sqldb: chart version %s-%s: %w", cv.Name, cv.Version, storage.ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("sqldb: replace chart version: %w", err)
	}
	if opt.Overwrite && !(opt.Repush && same) {
		if err := putTerms(ctx, tx, cv); err != nil {
			return "", err
		}
	}
	return oldManifest, nil
}

// putFace writes the chart's OCI face, tagged with its version, and retires
// the manifest that was its face before (when there was another).
func putFace(ctx context.Context, tx q, repoID int64, old digest.Digest, c storage.Chart) error {
	if old != "" && old != c.Manifest.Digest {
		if err := deleteManifest(ctx, tx, repoID, old); err != nil {
			return err
		}
	}
	m := c.Manifest
	m.RepositoryID = repoID
	if err := upsertManifest(ctx, tx, m); err != nil {
		return err
	}
	return putTag(ctx, tx, repoID, c.Tag, m.Digest)
}

const chartColumns = `tenant_id, name, version, digest, size, prov_digest, prov_size, metadata, created,
	signer, signer_fingerprint, server_signed, manifest_digest, manifest_size, config_digest, config_size`

func scanChart(sc interface{ Scan(...any) error }) (storage.ChartVersion, error) {
	var (
		cv                   storage.ChartVersion
		dg, meta             string
		prov, manifest, conf sql.NullString
		created              int64
	)
	err := sc.Scan(&cv.TenantID, &cv.Name, &cv.Version, &dg, &cv.Size, &prov, &cv.ProvSize, &meta, &created,
		&cv.Signer, &cv.SignerFingerprint, &cv.ServerSigned, &manifest, &cv.ManifestSize, &conf, &cv.ConfigSize)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	cv.Digest, cv.ProvDigest = digest.Digest(dg), digest.Digest(prov.String)
	cv.ManifestDigest, cv.ConfigDigest = digest.Digest(manifest.String), digest.Digest(conf.String)
	cv.Metadata, cv.Created = []byte(meta), fromNanos(created)
	return cv, nil
}

// ChartVersion implements storage.Charts.
func (db *DB) ChartVersion(ctx context.Context, tenantID int64, name, version string) (storage.ChartVersion, error) {
	cv, err := scanChart(db.read().row(ctx, `SELECT `+chartColumns+` FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`, tenantID, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return cv, fmt.Errorf("sqldb: chart version %s-%s: %w", name, version, storage.ErrNotFound)
	}
	if err != nil {
		return cv, fmt.Errorf("sqldb: chart version %s-%s: %w", name, version, err)
	}
	return cv, nil
}

// ChartVersions implements storage.Charts, ordered by name then creation.
func (db *DB) ChartVersions(ctx context.Context, tenantID int64, name string) ([]storage.ChartVersion, error) {
	where, args := ` FROM chart_versions WHERE tenant_id = ?`, []any{tenantID}
	if name != "" {
		where, args = where+` AND name = ?`, append(args, name)
	}
	// The count sizes the result up front: grown by appending, a tenant's
	// 100k rows (about 250 bytes each before their strings) were copied
	// into ever larger arrays, five times their size in all. A write in
	// between only makes it a wrong guess.
	var n int
	if err := db.read().row(ctx, `SELECT count(*)`+where, args...).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqldb: chart versions: %w", err)
	}
	rows, err := db.read().query(ctx, `SELECT `+chartColumns+where+` ORDER BY name, created, version`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: chart versions: %w", err)
	}
	defer rows.Close()
	var out []storage.ChartVersion // nil when there are none, as before
	if n > 0 {
		out = make([]storage.ChartVersion, 0, n)
	}
	for rows.Next() {
		cv, err := scanChart(rows)
		if err != nil {
			return nil, fmt.Errorf("sqldb: chart versions: %w", err)
		}
		out = append(out, cv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: chart versions: %w", err)
	}
	return out, nil
}

// DeleteChartVersion implements storage.Charts: the row and its manifest
// (with the manifest's tags) go in one transaction with the generation bump.
func (db *DB) DeleteChartVersion(ctx context.Context, tenantID int64, name, version string) error {
	return db.write(ctx, func(tx q) error {
		if err := bumpGeneration(ctx, tx, tenantID); err != nil {
			return err
		}
		var md sql.NullString
		err := tx.row(ctx, `DELETE FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ? RETURNING manifest_digest`,
			tenantID, name, version).Scan(&md)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqldb: chart version %s-%s: %w", name, version, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: delete chart version: %w", err)
		}
		if !md.Valid {
			return nil
		}
		var repoID int64
		err = tx.row(ctx, `SELECT id FROM repositories WHERE tenant_id = ? AND name = ?`, tenantID, name).Scan(&repoID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqldb: delete chart manifest: %w", err)
		}
		return deleteManifest(ctx, tx, repoID, digest.Digest(md.String))
	})
}

// SetProvenance implements storage.Charts. It records the .prov blob and
// the signer on the version, and replaces the OCI face by c.Manifest (the
// one with the provenance layer), in one transaction.
func (db *DB) SetProvenance(ctx context.Context, c storage.Chart) error {
	cv := c.Version
	if cv.ProvDigest == "" {
		return errors.New("sqldb: SetProvenance without a provenance digest")
	}
	if err := validChart(c); err != nil {
		return err
	}
	return db.write(ctx, func(tx q) error {
		if err := bumpGeneration(ctx, tx, cv.TenantID); err != nil {
			return err
		}
		var old sql.NullString
		err := tx.row(ctx, `SELECT manifest_digest FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ? AND digest = ?`,
			cv.TenantID, cv.Name, cv.Version, string(cv.Digest)).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqldb: chart version %s-%s with archive %s: %w", cv.Name, cv.Version, cv.Digest, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: set provenance: %w", err)
		}
		for _, b := range []storage.Descriptor{{Digest: cv.ProvDigest, Size: cv.ProvSize}, {Digest: cv.ConfigDigest, Size: cv.ConfigSize},
			{Digest: cv.ManifestDigest, Size: cv.ManifestSize}} {
			if err := db.ensureBlob(ctx, tx, b.Digest, b.Size); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, `UPDATE chart_versions SET prov_digest = ?, prov_size = ?, signer = ?, signer_fingerprint = ?, server_signed = ?,
			manifest_digest = ?, manifest_size = ?, config_digest = ?, config_size = ?
			WHERE tenant_id = ? AND name = ? AND version = ?`,
			string(cv.ProvDigest), cv.ProvSize, cv.Signer, cv.SignerFingerprint, cv.ServerSigned,
			string(cv.ManifestDigest), cv.ManifestSize, string(cv.ConfigDigest), cv.ConfigSize,
			cv.TenantID, cv.Name, cv.Version)
		if err != nil {
			return fmt.Errorf("sqldb: set provenance: %w", err)
		}
		repoID, err := ensureRepo(ctx, tx, cv.TenantID, cv.Name)
		if err != nil {
			return err
		}
		if err := useBlobs(ctx, tx, repoID, c.Manifest.Blobs, true); err != nil {
			return err
		}
		return putFace(ctx, tx, repoID, digest.Digest(old.String), c)
	})
}
