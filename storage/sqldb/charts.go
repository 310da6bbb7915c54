package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// Media types of a chart's OCI face, in Helm's layout.
const (
	MediaTypeImageManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeHelmConfig    = "application/vnd.cncf.helm.config.v1+json"
)

// TagOf is the OCI tag of a chart version: OCI tags may not contain '+',
// so Helm writes SemVer build metadata with '_'.
func TagOf(version string) string { return strings.ReplaceAll(version, "+", "_") }

func validChart(cv storage.ChartVersion) error {
	if cv.TenantID == 0 || cv.Name == "" || cv.Version == "" {
		return errors.New("sqldb: chart version needs tenant, name and version")
	}
	for i, d := range []digest.Digest{cv.Digest, cv.ProvDigest, cv.ConfigDigest, cv.ManifestDigest} {
		if d == "" && i > 0 { // only the .tgz is mandatory
			continue
		}
		if err := d.Validate(); err != nil {
			return fmt.Errorf("sqldb: %w: %q", storage.ErrInvalidDigest, d)
		}
	}
	if (cv.ManifestDigest == "") != (cv.ConfigDigest == "") {
		return errors.New("sqldb: a chart's OCI face needs both manifest and config")
	}
	if !json.Valid(cv.Metadata) {
		return errors.New("sqldb: chart metadata is not JSON")
	}
	return nil
}

// PutChartVersion implements storage.Charts.
func (db *DB) PutChartVersion(ctx context.Context, cv storage.ChartVersion, opt storage.PutOptions) error {
	if err := validChart(cv); err != nil {
		return err
	}
	err := db.write(ctx, func(tx q) error {
		old, err := db.putChartRow(ctx, tx, cv, opt)
		if err != nil {
			return err
		}
		repoID, err := ensureRepo(ctx, tx, cv.TenantID, cv.Name)
		if err != nil {
			return err
		}
		for _, d := range chartBlobs(cv) {
			if err := linkBlob(ctx, tx, repoID, d); err != nil {
				return err
			}
		}
		if old != "" && old != cv.ManifestDigest {
			if err := deleteManifest(ctx, tx, repoID, old); err != nil {
				return err
			}
		}
		return db.putChartManifest(ctx, tx, repoID, cv)
	})
	if err != nil {
		return fmt.Errorf("put chart %s-%s: %w", cv.Name, cv.Version, err)
	}
	return nil
}

// chartBlobs are the blobs a chart version links in its repository: the
// config and layers of its manifest.
func chartBlobs(cv storage.ChartVersion) []digest.Digest {
	ds := []digest.Digest{cv.Digest}
	if cv.ProvDigest != "" {
		ds = append(ds, cv.ProvDigest)
	}
	if cv.ConfigDigest != "" {
		ds = append(ds, cv.ConfigDigest)
	}
	return ds
}

// putChartRow writes the chart_versions row: it bumps the generation (taking
// the tenant lock first), applies MaxObjects, records the blobs, and inserts
// the row, letting the primary key decide a conflict. With Overwrite the old
// row is replaced and its manifest digest returned, so the caller can retire
// that manifest.
func (db *DB) putChartRow(ctx context.Context, tx q, cv storage.ChartVersion, opt storage.PutOptions) (oldManifest digest.Digest, err error) {
	if err := bumpGeneration(ctx, tx, cv.TenantID); err != nil {
		return "", err
	}
	if opt.MaxObjects > 0 {
		// Counting at most MaxObjects rows keeps the check's cost bounded by
		// the limit, not by the number of versions.
		var n int
		err := tx.row(ctx, `SELECT count(*) FROM (SELECT 1 FROM chart_versions WHERE tenant_id = ? AND NOT (name = ? AND version = ?) LIMIT ?) AS c`,
			cv.TenantID, cv.Name, cv.Version, opt.MaxObjects).Scan(&n)
		if err != nil {
			return "", fmt.Errorf("sqldb: count versions: %w", err)
		}
		if n >= opt.MaxObjects {
			return "", fmt.Errorf("sqldb: %d chart versions: %w", n, storage.ErrLimit)
		}
	}
	if err := db.ensureBlob(ctx, tx, cv.Digest, cv.Size); err != nil {
		return "", err
	}
	for _, b := range []storage.Descriptor{{Digest: cv.ProvDigest, Size: cv.ProvSize}, {Digest: cv.ConfigDigest, Size: cv.ConfigSize}, {Digest: cv.ManifestDigest, Size: cv.ManifestSize}} {
		if b.Digest == "" {
			continue
		}
		if err := db.ensureBlob(ctx, tx, b.Digest, b.Size); err != nil {
			return "", err
		}
	}
	if opt.Overwrite {
		var md sql.NullString
		err := tx.row(ctx, `DELETE FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ? RETURNING manifest_digest`,
			cv.TenantID, cv.Name, cv.Version).Scan(&md)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("sqldb: replace chart version: %w", err)
		}
		oldManifest = digest.Digest(md.String)
	}
	_, err = tx.exec(ctx, `INSERT INTO chart_versions (tenant_id, name, version, digest, size, prov_digest, prov_size, metadata, created,
		signer, signer_fingerprint, server_signed, manifest_digest, manifest_size, config_digest, config_size)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cv.TenantID, cv.Name, cv.Version, string(cv.Digest), cv.Size, nullString(string(cv.ProvDigest)), cv.ProvSize,
		string(cv.Metadata), toNanos(cv.Created), cv.Signer, cv.SignerFingerprint, cv.ServerSigned,
		nullString(string(cv.ManifestDigest)), cv.ManifestSize, nullString(string(cv.ConfigDigest)), cv.ConfigSize)
	if isUnique(err) {
		return "", fmt.Errorf("sqldb: chart version %s-%s: %w", cv.Name, cv.Version, storage.ErrExists)
	}
	if isForeignKey(err) {
		return "", fmt.Errorf("sqldb: tenant %d: %w", cv.TenantID, storage.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqldb: insert chart version: %w", err)
	}
	return oldManifest, nil
}

// putChartManifest writes the chart's OCI face (when it has one): the
// manifest row with its references, tagged with the version.
func (db *DB) putChartManifest(ctx context.Context, tx q, repoID int64, cv storage.ChartVersion) error {
	if cv.ManifestDigest == "" {
		return nil
	}
	m := storage.Manifest{
		RepositoryID:    repoID,
		Digest:          cv.ManifestDigest,
		Size:            cv.ManifestSize,
		MediaType:       MediaTypeImageManifest,
		ConfigDigest:    cv.ConfigDigest,
		ConfigMediaType: MediaTypeHelmConfig,
		Blobs:           chartBlobs(cv),
		Created:         cv.Created,
	}
	if err := upsertManifest(ctx, tx, m); err != nil {
		return err
	}
	return putTag(ctx, tx, repoID, TagOf(cv.Version), cv.ManifestDigest)
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
	query, args := `SELECT `+chartColumns+` FROM chart_versions WHERE tenant_id = ?`, []any{tenantID}
	if name != "" {
		query, args = query+` AND name = ?`, append(args, name)
	}
	rows, err := db.read().query(ctx, query+` ORDER BY name, created, version`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: chart versions: %w", err)
	}
	defer rows.Close()
	var out []storage.ChartVersion
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

// SetProvenance implements storage.Charts. It records the .prov blob and the
// signer on the version; when cv carries a new manifest (one with the
// provenance layer) the OCI face is replaced by it in the same transaction.
func (db *DB) SetProvenance(ctx context.Context, cv storage.ChartVersion) error {
	if cv.ProvDigest == "" {
		return errors.New("sqldb: SetProvenance without a provenance digest")
	}
	return db.write(ctx, func(tx q) error {
		if err := bumpGeneration(ctx, tx, cv.TenantID); err != nil {
			return err
		}
		old, err := scanChart(tx.row(ctx, `SELECT `+chartColumns+` FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`,
			cv.TenantID, cv.Name, cv.Version))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqldb: chart version %s-%s: %w", cv.Name, cv.Version, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: set provenance: %w", err)
		}
		if err := db.ensureBlob(ctx, tx, cv.ProvDigest, cv.ProvSize); err != nil {
			return err
		}
		nv := old
		nv.ProvDigest, nv.ProvSize = cv.ProvDigest, cv.ProvSize
		nv.Signer, nv.SignerFingerprint, nv.ServerSigned = cv.Signer, cv.SignerFingerprint, cv.ServerSigned
		if cv.ManifestDigest != "" {
			nv.ManifestDigest, nv.ManifestSize = cv.ManifestDigest, cv.ManifestSize
			nv.ConfigDigest, nv.ConfigSize = cv.ConfigDigest, cv.ConfigSize
			for _, b := range []storage.Descriptor{{Digest: nv.ManifestDigest, Size: nv.ManifestSize}, {Digest: nv.ConfigDigest, Size: nv.ConfigSize}} {
				if err := db.ensureBlob(ctx, tx, b.Digest, b.Size); err != nil {
					return err
				}
			}
		}
		_, err = tx.exec(ctx, `UPDATE chart_versions SET prov_digest = ?, prov_size = ?, signer = ?, signer_fingerprint = ?, server_signed = ?,
			manifest_digest = ?, manifest_size = ?, config_digest = ?, config_size = ?
			WHERE tenant_id = ? AND name = ? AND version = ?`,
			string(nv.ProvDigest), nv.ProvSize, nv.Signer, nv.SignerFingerprint, nv.ServerSigned,
			nullString(string(nv.ManifestDigest)), nv.ManifestSize, nullString(string(nv.ConfigDigest)), nv.ConfigSize,
			nv.TenantID, nv.Name, nv.Version)
		if err != nil {
			return fmt.Errorf("sqldb: set provenance: %w", err)
		}
		repoID, err := ensureRepo(ctx, tx, nv.TenantID, nv.Name)
		if err != nil {
			return err
		}
		for _, d := range chartBlobs(nv) {
			if err := linkBlob(ctx, tx, repoID, d); err != nil {
				return err
			}
		}
		if old.ManifestDigest != "" && old.ManifestDigest != nv.ManifestDigest {
			if err := deleteManifest(ctx, tx, repoID, old.ManifestDigest); err != nil {
				return err
			}
		}
		if nv.ManifestDigest != old.ManifestDigest {
			return db.putChartManifest(ctx, tx, repoID, nv)
		}
		return nil
	})
}
