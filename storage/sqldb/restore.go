package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// RestoreStats reports what Restore rebuilt.
type RestoreStats struct {
	Charts, Manifests, Tags, Keys int
	// Skipped counts records left out because a blob they reference is not
	// in the store: restoring them would make rows that point at nothing.
	Skipped int
}

// Replayer feeds Restore the journal's records in order and returns the
// number of the last entry read (see storage.BlobStore.ReplayJournal).
type Replayer func(fn func(storage.MetaRecord) error) (uint64, error)

// Restore rebuilds an empty database from the store's journal, in one
// transaction that begins by recording the store's identity: on a shared
// database, of several replicas restoring at once one does the work and the
// others find the identity recorded and return restored == false. present
// reports whether a blob is in the store; records referencing a missing one
// are skipped. Restored rows count as created now, so garbage collection's
// grace period starts afresh.
func (db *DB) Restore(ctx context.Context, storeID string, replay Replayer, present func(digest.Digest) bool) (st RestoreStats, restored bool, err error) {
	ctx = long(ctx) // the whole journal in one transaction
	err = db.write(ctx, func(tx q) error {
		st = RestoreStats{}
		n, err := tx.exec(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, metaStoreID, storeID)
		if err != nil {
			return fmt.Errorf("sqldb: restore: %w", err)
		}
		if n == 0 {
			restored = false
			return setStoreID(ctx, tx, storeID) // someone else restored: same store?
		}
		restored = true
		r := &restorer{db: db, tx: tx, present: present, tenants: map[string]int64{}, repos: map[[2]string]int64{}, blobs: map[digest.Digest]bool{}}
		last, err := replay(func(rec storage.MetaRecord) error { return r.apply(ctx, rec, &st) })
		if err != nil {
			return err
		}
		// A tag whose manifest was skipped (or never recorded) would point at
		// nothing.
		if _, err := tx.exec(ctx, `DELETE FROM tags WHERE NOT EXISTS (SELECT 1 FROM manifests m
			WHERE m.repository_id = tags.repository_id AND m.digest = tags.manifest_digest)`); err != nil {
			return fmt.Errorf("sqldb: restore: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE tenants SET generation = generation + 1`); err != nil {
			return fmt.Errorf("sqldb: restore: %w", err)
		}
		if !db.pg {
			// The rows just inserted came from the journal: their notes
			// need no entry of their own.
			if _, err := tx.exec(ctx, `DELETE FROM journal_outbox`); err != nil {
				return fmt.Errorf("sqldb: restore: %w", err)
			}
			if err := setMeta(ctx, tx, metaJournalNext, strconv.FormatUint(last+1, 10)); err != nil {
				return err
			}
		}
		for _, c := range []struct {
			n     *int
			table string
		}{{&st.Charts, "chart_versions"}, {&st.Manifests, "manifests"}, {&st.Tags, "tags"}, {&st.Keys, "keys"}} {
			if err := tx.row(ctx, `SELECT count(*) FROM `+c.table).Scan(c.n); err != nil {
				return fmt.Errorf("sqldb: restore: %w", err)
			}
		}
		return nil
	})
	return st, restored, err
}

type restorer struct {
	db      *DB
	tx      q
	present func(digest.Digest) bool
	tenants map[string]int64
	repos   map[[2]string]int64
	blobs   map[digest.Digest]bool
}

func (r *restorer) tenant(ctx context.Context, path string) (int64, error) {
	if id, ok := r.tenants[path]; ok {
		return id, nil
	}
	if _, err := r.tx.exec(ctx, `INSERT INTO tenants (path, generation) VALUES (?, 0) ON CONFLICT (path) DO NOTHING`, path); err != nil {
		return 0, fmt.Errorf("sqldb: restore tenant %q: %w", path, err)
	}
	var id int64
	if err := r.tx.row(ctx, `SELECT id FROM tenants WHERE path = ?`, path).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqldb: restore tenant %q: %w", path, err)
	}
	r.tenants[path] = id
	return id, nil
}

func (r *restorer) repo(ctx context.Context, tenant, name string) (int64, error) {
	k := [2]string{tenant, name}
	if id, ok := r.repos[k]; ok {
		return id, nil
	}
	tid, err := r.tenant(ctx, tenant)
	if err != nil {
		return 0, err
	}
	id, err := ensureRepo(ctx, r.tx, tid, name)
	if err != nil {
		return 0, err
	}
	r.repos[k] = id
	return id, nil
}

// blobs records the blobs a record needs; false when one is not in the store.
func (r *restorer) ensureBlobs(ctx context.Context, ds ...storage.RefRecord) (bool, error) {
	for _, d := range ds {
		if d.Digest == "" {
			continue
		}
		if d.Digest.Validate() != nil || !r.present(d.Digest) {
			return false, nil
		}
	}
	for _, d := range ds {
		if d.Digest == "" || r.blobs[d.Digest] {
			continue
		}
		if _, err := r.tx.exec(ctx, `INSERT INTO blobs (digest, size, created) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
			string(d.Digest), d.Size, restoredAt()); err != nil {
			return false, fmt.Errorf("sqldb: restore blob %s: %w", d.Digest, err)
		}
		r.blobs[d.Digest] = true
	}
	return true, nil
}

func (r *restorer) apply(ctx context.Context, rec storage.MetaRecord, st *RestoreStats) error {
	switch {
	case rec.Chart != nil:
		return r.chart(ctx, rec.Chart, st)
	case rec.Manifest != nil:
		return r.manifest(ctx, rec.Manifest, st)
	case rec.Tag != nil:
		t := rec.Tag
		repoID, err := r.repo(ctx, t.Tenant, t.Repo)
		if err != nil {
			return err
		}
		if t.Deleted {
			_, err = r.tx.exec(ctx, `DELETE FROM tags WHERE repository_id = ? AND name = ?`, repoID, t.Tag)
			return err
		}
		return putTag(ctx, r.tx, repoID, t.Tag, t.Digest)
	case rec.Key != nil:
		k := rec.Key
		tid, err := r.tenant(ctx, k.Tenant)
		if err != nil {
			return err
		}
		if k.Deleted {
			_, err = r.tx.exec(ctx, `DELETE FROM keys WHERE tenant_id = ? AND fingerprint = ?`, tid, k.Fingerprint)
			return err
		}
		_, err = r.tx.exec(ctx, `INSERT INTO keys (tenant_id, fingerprint, armored, created) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET armored = excluded.armored, created = excluded.created`,
			tid, k.Fingerprint, k.Armored, toNanos(k.Created))
		if err != nil {
			return fmt.Errorf("sqldb: restore key %s: %w", k.Fingerprint, err)
		}
		return nil
	}
	return errors.New("sqldb: restore: empty journal record")
}

func (r *restorer) chart(ctx context.Context, c *storage.ChartRecord, st *RestoreStats) error {
	tid, err := r.tenant(ctx, c.Tenant)
	if err != nil {
		return err
	}
	if _, err := r.tx.exec(ctx, `DELETE FROM chart_versions WHERE tenant_id = ? AND name = ? AND version = ?`, tid, c.Name, c.Version); err != nil {
		return fmt.Errorf("sqldb: restore chart %s-%s: %w", c.Name, c.Version, err)
	}
	if c.Deleted {
		return nil
	}
	ok, err := r.ensureBlobs(ctx, storage.RefRecord{Digest: c.Digest, Size: c.Size}, storage.RefRecord{Digest: c.ProvDigest, Size: c.ProvSize},
		storage.RefRecord{Digest: c.ManifestDigest, Size: c.ManifestSize}, storage.RefRecord{Digest: c.ConfigDigest, Size: c.ConfigSize})
	if err != nil {
		return err
	}
	if !ok || c.Digest == "" {
		st.Skipped++
		r.db.log.WarnContext(ctx, "sqldb: restore: chart version's blobs are missing from the store; left out", "tenant", c.Tenant, "chart", c.Name, "version", c.Version)
		return nil
	}
	cv := storage.ChartVersion{TenantID: tid, Name: c.Name, Version: c.Version, Digest: c.Digest, Size: c.Size,
		ProvDigest: c.ProvDigest, ProvSize: c.ProvSize, Metadata: c.Metadata, Created: c.Created,
		Signer: c.Signer, SignerFingerprint: c.SignerFingerprint, ServerSigned: c.ServerSigned,
		ManifestDigest: c.ManifestDigest, ManifestSize: c.ManifestSize, ConfigDigest: c.ConfigDigest, ConfigSize: c.ConfigSize}
	if err := validRecord(cv); err != nil {
		st.Skipped++
		r.db.log.WarnContext(ctx, "sqldb: restore: invalid chart record left out", "tenant", c.Tenant, "chart", c.Name, "version", c.Version, "err", err)
		return nil
	}
	_, err = r.tx.exec(ctx, `INSERT INTO chart_versions (`+chartColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cv.TenantID, cv.Name, cv.Version, string(cv.Digest), cv.Size, nullString(string(cv.ProvDigest)), cv.ProvSize,
		string(cv.Metadata), toNanos(cv.Created), cv.Signer, cv.SignerFingerprint, cv.ServerSigned,
		nullString(string(cv.ManifestDigest)), cv.ManifestSize, nullString(string(cv.ConfigDigest)), cv.ConfigSize)
	if err != nil {
		return fmt.Errorf("sqldb: restore chart %s-%s: %w", c.Name, c.Version, err)
	}
	if err := putTerms(ctx, r.tx, cv); err != nil {
		return err
	}
	repoID, err := r.repo(ctx, c.Tenant, c.Name)
	if err != nil {
		return err
	}
	// The version's own blobs; its manifest's are linked with the
	// manifest's record.
	for _, d := range []digest.Digest{cv.Digest, cv.ProvDigest, cv.ConfigDigest} {
		if d == "" {
			continue
		}
		if err := linkBlob(ctx, r.tx, repoID, d); err != nil {
			return err
		}
	}
	return nil
}

// validRecord checks what every chart version row must hold: tenant, name,
// version, valid digests (only the .tgz's is mandatory) and JSON metadata.
// A journal record, read back from a bucket and not trusted to be whole,
// must pass it to become a row; validChart adds what a new version with
// both its faces must hold besides.
func validRecord(cv storage.ChartVersion) error {
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
	if !json.Valid(cv.Metadata) {
		return errors.New("sqldb: chart metadata is not JSON")
	}
	return nil
}

func (r *restorer) manifest(ctx context.Context, m *storage.ManifestRecord, st *RestoreStats) error {
	repoID, err := r.repo(ctx, m.Tenant, m.Repo)
	if err != nil {
		return err
	}
	if m.Deleted {
		// As in the database: a manifest goes with its tags.
		return deleteManifest(ctx, r.tx, repoID, m.Digest)
	}
	// A later record of a live manifest replaces its row, not its tags.
	for _, query := range []string{
		`DELETE FROM manifest_refs WHERE repository_id = ? AND manifest_digest = ?`,
		`DELETE FROM manifests WHERE repository_id = ? AND digest = ?`,
	} {
		if _, err := r.tx.exec(ctx, query, repoID, string(m.Digest)); err != nil {
			return fmt.Errorf("sqldb: restore manifest %s: %w", m.Digest, err)
		}
	}
	need := append([]storage.RefRecord{{Digest: m.Digest, Size: m.Size}}, m.Blobs...)
	ok, err := r.ensureBlobs(ctx, append(need, m.Children...)...)
	if err != nil {
		return err
	}
	if !ok {
		st.Skipped++
		r.db.log.WarnContext(ctx, "sqldb: restore: manifest's blobs are missing from the store; left out", "repository", m.Tenant+"/"+m.Repo, "digest", m.Digest)
		return nil
	}
	row := storage.Manifest{RepositoryID: repoID, Digest: m.Digest, Size: m.Size, MediaType: m.MediaType, ArtifactType: m.ArtifactType,
		Subject: m.Subject, ConfigDigest: m.ConfigDigest, ConfigMediaType: m.ConfigMediaType, Annotations: m.Annotations,
		// A manifest's created is GC's clock (pushes renew it): it restarts.
		Created: time.Unix(0, restoredAt())}
	for _, b := range m.Blobs {
		row.Blobs = append(row.Blobs, b.Digest)
	}
	for _, c := range m.Children {
		row.Children = append(row.Children, c.Digest)
	}
	if err := upsertManifest(ctx, r.tx, row); err != nil {
		return err
	}
	for _, d := range row.Blobs {
		if err := linkBlob(ctx, r.tx, repoID, d); err != nil {
			return err
		}
	}
	return nil
}
