package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
)

// GCStats reports what one CollectGarbage pass removed.
type GCStats struct {
	// Manifests: untagged manifests with no chart version, no parent index
	// and no live subject.
	Manifests int
	// Links: repository links to blobs that no manifest or chart version of
	// the repository uses, unrefreshed for the grace period.
	Links int
	// Adopted: objects found in the bucket with no row (pushed, never
	// referenced), recorded so this pass can collect them.
	Adopted int
	// Blobs and Bytes: blob objects deleted.
	Blobs int
	Bytes int64
	// Swept: leftovers of interrupted writes deleted.
	Swept int
}

// Optional abilities of the Deleter passed to CollectGarbage, which
// *storage.BlobStore has.
type (
	blobWalker interface {
		Walk(ctx context.Context, fn func(storage.StoredBlob) error) error
	}
	staleSweeper interface {
		SweepStale(ctx context.Context, before time.Time) (int, error)
	}
)

// unreferenced is the condition, on a row of blobs, that nothing refers to
// it. Every column named here has a foreign key to blobs and an index.
// staleTempAge is how long a temporary object must sit untouched before the
// sweep removes it.
const staleTempAge = 15 * time.Minute

const unreferenced = `NOT EXISTS (SELECT 1 FROM repo_blobs x WHERE x.digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM manifest_refs x WHERE x.digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM manifests x WHERE x.digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.prov_digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.manifest_digest = blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions x WHERE x.config_digest = blobs.digest)`

// collectableManifest is the condition, on a row of manifests, that
// nothing keeps it: no tag, no chart version's face, no parent index, and
// no live subject. Its one parameter is refManifest.
const collectableManifest = `NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = manifests.repository_id AND t.manifest_digest = manifests.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions cv JOIN repositories r ON r.tenant_id = cv.tenant_id AND r.name = cv.name
		WHERE r.id = manifests.repository_id AND cv.manifest_digest = manifests.digest)
	AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.repository_id = manifests.repository_id
		AND mr.digest = manifests.digest AND mr.kind = ?)
	AND (subject = '' OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository_id = manifests.repository_id AND s.digest = manifests.subject))`

// collectableLink is the condition, on a row of repo_blobs, that no
// manifest or chart version of the repository uses the blob.
const collectableLink = `NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.repository_id = repo_blobs.repository_id AND mr.digest = repo_blobs.digest)
	AND NOT EXISTS (SELECT 1 FROM chart_versions cv JOIN repositories r ON r.tenant_id = cv.tenant_id AND r.name = cv.name
		WHERE r.id = repo_blobs.repository_id
		AND (cv.digest = repo_blobs.digest OR cv.prov_digest = repo_blobs.digest OR cv.config_digest = repo_blobs.digest))`

// rowKey names a manifest or a link: repository and digest.
type rowKey struct {
	repo   int64
	digest string
}

// lockCandidates returns the rows query selects, locked on PostgreSQL
// (FOR UPDATE), for a deletion that then rechecks each in statements of
// its own. A single DELETE with the conditions is not safe under READ
// COMMITTED: when it waits for a row that a concurrent push holds (a
// manifest refreshing the link it uses, a tag put on a manifest), it
// rechecks that row's own columns once the push commits but evaluates the
// NOT EXISTS conditions in its old snapshot, which misses the push's new
// references, and deleted links and manifests that a committed push had
// just been told were kept. Once the rows are locked, nothing can change
// them, and a new statement's snapshot sees every push that did first. On
// SQLite the write transaction excludes every other writer already.
func (db *DB) lockCandidates(ctx context.Context, tx q, query string, args ...any) ([]rowKey, error) {
	if db.pg {
		query += " FOR UPDATE"
	}
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []rowKey
	for rows.Next() {
		var k rowKey
		if err := rows.Scan(&k.repo, &k.digest); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, k)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// errKept aborts a deletion transaction that found its blob referenced.
var errKept = errors.New("blob still referenced")

// CollectGarbage removes what nothing references any more and has not been
// touched for grace:
//
//  1. untagged manifests that are no chart version's face, no index's child,
//     and whose subject (if any) is gone;
//  2. repository links no manifest or chart version of the repository uses;
//  3. blobs nothing references: each is deleted in its own transaction that
//     removes the row only if it is still unreferenced and old, and deletes
//     the object before committing. Holding the row meanwhile is what makes
//     this safe against a concurrent push of the same digest: the pusher's
//     reference either commits first (and the foreign key makes GC's delete
//     fail), or waits for GC and then finds no row, inserts a fresh one and
//     (with WithBlobStater) sees the object is gone.
//
// When blobs can list the bucket, objects that were pushed but never got a
// row are adopted first, so they are collected too; when it can sweep, the
// leftovers of interrupted writes are removed.
func (db *DB) CollectGarbage(ctx context.Context, blobs storage.Deleter, grace time.Duration) (GCStats, error) {
	ctx = long(ctx) // see long: a pass holds its candidates and deletes objects in its transactions
	var st GCStats
	cutoff := time.Now().Add(-grace)
	c := cutoff.UnixNano()

	// 1. Manifests; each round may orphan an index's children or referrers.
	for {
		var n int
		err := db.write(ctx, func(tx q) error {
			gone, err := db.lockCandidates(ctx, tx, `SELECT repository_id, digest FROM manifests WHERE created < ? AND `+collectableManifest, c, refManifest)
			if err != nil {
				return err
			}
			n = 0
			for _, k := range gone {
				// Rechecked under the row lock, in a statement of its own:
				// its snapshot sees whatever tagged the manifest meanwhile.
				del, err := tx.exec(ctx, `DELETE FROM manifests WHERE repository_id = ? AND digest = ? AND created < ? AND `+collectableManifest,
					k.repo, k.digest, c, refManifest)
				if err != nil {
					return err
				}
				if del == 0 {
					continue
				}
				if err := deleteManifest(ctx, tx, k.repo, digest.Digest(k.digest)); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("sqldb: gc manifests: %w", err)
		}
		st.Manifests += n
		if n == 0 {
			break
		}
	}

	// 2. Links, the same way.
	err := db.write(ctx, func(tx q) error {
		links, err := db.lockCandidates(ctx, tx, `SELECT repository_id, digest FROM repo_blobs WHERE created < ? AND `+collectableLink, c)
		if err != nil {
			return err
		}
		st.Links = 0
		for _, k := range links {
			del, err := tx.exec(ctx, `DELETE FROM repo_blobs WHERE repository_id = ? AND digest = ? AND created < ? AND `+collectableLink,
				k.repo, k.digest, c)
			if err != nil {
				return err
			}
			st.Links += int(del)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("sqldb: gc links: %w", err)
	}

	// 3. Orphan objects: give them a row dated by the object, so the sweep
	// below treats them like any other unreferenced blob.
	if w, ok := blobs.(blobWalker); ok {
		err := w.Walk(ctx, func(b storage.StoredBlob) error {
			if !b.ModTime.Before(cutoff) {
				return nil
			}
			var one int
			if err := db.read().row(ctx, `SELECT 1 FROM blobs WHERE digest = ?`, string(b.Digest)).Scan(&one); err == nil {
				return nil
			}
			return db.write(ctx, func(tx q) error {
				n, err := tx.exec(ctx, `INSERT INTO blobs (digest, size, created) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
					string(b.Digest), b.Size, b.ModTime.UnixNano())
				st.Adopted += int(n)
				return err
			})
		})
		if err != nil {
			return st, fmt.Errorf("sqldb: gc adopt orphans: %w", err)
		}
	}

	// 4. Blobs, one transaction each.
	cands, err := db.unreferencedBlobs(ctx, c)
	if err != nil {
		return st, err
	}
	for _, b := range cands {
		err := db.write(ctx, func(tx q) error {
			n, err := tx.exec(ctx, `DELETE FROM blobs WHERE digest = ? AND created < ? AND `+unreferenced, string(b.Digest), c)
			if isForeignKey(err) || (err == nil && n == 0) {
				return errKept
			}
			if err != nil {
				return err
			}
			return blobs.Delete(ctx, b.Digest)
		})
		switch {
		case errors.Is(err, errKept):
		case err != nil:
			return st, fmt.Errorf("sqldb: gc blob %s: %w", b.Digest, err)
		default:
			st.Blobs++
			st.Bytes += b.Size
		}
	}

	if s, ok := blobs.(staleSweeper); ok {
		// A temporary file is swept only once it has been idle for
		// staleTempAge, whatever the grace: an in-flight write touches its
		// file continually, and sweeping it would fail that write.
		sweepBefore := cutoff
		if floor := time.Now().Add(-staleTempAge); sweepBefore.After(floor) {
			sweepBefore = floor
		}
		if st.Swept, err = s.SweepStale(ctx, sweepBefore); err != nil {
			return st, fmt.Errorf("sqldb: gc sweep: %w", err)
		}
	}
	db.log.InfoContext(ctx, "sqldb: garbage collected", "manifests", st.Manifests, "links", st.Links,
		"adopted", st.Adopted, "blobs", st.Blobs, "bytes", st.Bytes, "swept", st.Swept)
	return st, nil
}

func (db *DB) unreferencedBlobs(ctx context.Context, cutoff int64) ([]storage.Descriptor, error) {
	rows, err := db.read().query(ctx, `SELECT digest, size FROM blobs WHERE created < ? AND `+unreferenced, cutoff)
	if err != nil {
		return nil, fmt.Errorf("sqldb: gc candidates: %w", err)
	}
	defer rows.Close()
	var out []storage.Descriptor
	for rows.Next() {
		var d string
		var size int64
		if err := rows.Scan(&d, &size); err != nil {
			return nil, fmt.Errorf("sqldb: gc candidates: %w", err)
		}
		out = append(out, storage.Descriptor{Digest: digest.Digest(d), Size: size})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: gc candidates: %w", err)
	}
	return out, nil
}
