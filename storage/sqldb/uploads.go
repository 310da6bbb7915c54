package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chartd/chartd/storage"
)

// CreateUpload implements storage.Uploads. The id is 128 random bits in
// hex: it is the capability to the session, so it must not be guessable.
// The commit is lazy: a session lost to a power cut is one the client
// starts again, and every push begins with one.
func (db *DB) CreateUpload(ctx context.Context, repoID int64) (storage.Upload, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	t := now()
	u := storage.Upload{ID: hex.EncodeToString(b[:]), RepositoryID: repoID, Started: fromNanos(t), Updated: fromNanos(t)}
	err := db.writeLazy(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `INSERT INTO uploads (id, repository_id, byte_offset, parts, started, updated) VALUES (?, ?, 0, 0, ?, ?)`, u.ID, repoID, t, t)
		if isForeignKey(err) {
			return fmt.Errorf("sqldb: repository %d: %w", repoID, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: create upload: %w", err)
		}
		return nil
	})
	return u, err
}

// The accepted parts are part_ids, space-separated in order (IDs are hex);
// parts keeps their count.
const uploadColumns = `id, repository_id, byte_offset, part_ids, started, updated`

func scanUpload(sc interface{ Scan(...any) error }) (storage.Upload, error) {
	var u storage.Upload
	var parts string
	var started, updated int64
	err := sc.Scan(&u.ID, &u.RepositoryID, &u.Offset, &parts, &started, &updated)
	u.Parts = strings.Fields(parts)
	u.Started, u.Updated = fromNanos(started), fromNanos(updated)
	return u, err
}

// Upload implements storage.Uploads.
func (db *DB) Upload(ctx context.Context, repoID int64, id string) (storage.Upload, error) {
	u, err := scanUpload(db.read().row(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = ? AND repository_id = ?`, id, repoID))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Upload{}, fmt.Errorf("sqldb: upload %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Upload{}, fmt.Errorf("sqldb: upload %q: %w", id, err)
	}
	return u, nil
}

// AdvanceUpload implements storage.Uploads as a compare-and-swap on the
// offset, so of two PATCHes racing on one session exactly one wins, and
// the parts listed are the winner's. Every accepted part holds at least one
// byte, so the offset only grows and names the state it swaps from. The
// commit is lazy: an advance lost to a power cut only makes the client
// resend from the earlier offset, under a new part; the unlisted one goes
// with the session.
func (db *DB) AdvanceUpload(ctx context.Context, u storage.Upload, from int64) error {
	for _, p := range u.Parts {
		if p == "" || strings.ContainsRune(p, ' ') {
			return fmt.Errorf("sqldb: advance upload: invalid part id %q", p)
		}
	}
	return db.writeLazy(ctx, func(tx q) error {
		n, err := tx.exec(ctx, `UPDATE uploads SET byte_offset = ?, parts = ?, part_ids = ?, updated = ? WHERE id = ? AND repository_id = ? AND byte_offset = ?`,
			u.Offset, len(u.Parts), strings.Join(u.Parts, " "), now(), u.ID, u.RepositoryID, from)
		if err != nil {
			return fmt.Errorf("sqldb: advance upload: %w", err)
		}
		if n == 1 {
			return nil
		}
		var one int
		err = tx.row(ctx, `SELECT 1 FROM uploads WHERE id = ? AND repository_id = ?`, u.ID, u.RepositoryID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqldb: upload %q: %w", u.ID, storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqldb: advance upload: %w", err)
		}
		return fmt.Errorf("sqldb: upload %q moved past offset %d: %w", u.ID, from, storage.ErrExists)
	})
}

// DeleteUpload implements storage.Uploads.
func (db *DB) DeleteUpload(ctx context.Context, id string) error {
	return db.write(ctx, func(tx q) error {
		n, err := tx.exec(ctx, `DELETE FROM uploads WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqldb: delete upload: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("sqldb: upload %q: %w", id, storage.ErrNotFound)
		}
		return nil
	})
}

// FinishUpload implements storage.Uploads: one transaction where a
// monolithic upload used to take two. A session already gone (cancelled
// while the bytes arrived) does not undo the link: the bytes were verified.
func (db *DB) FinishUpload(ctx context.Context, u storage.Upload, d storage.Descriptor) error {
	return db.write(ctx, func(tx q) error {
		if err := db.ensureBlob(ctx, tx, d.Digest, d.Size); err != nil {
			return err
		}
		if err := linkBlob(ctx, tx, u.RepositoryID, d.Digest); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM uploads WHERE id = ? AND repository_id = ?`, u.ID, u.RepositoryID); err != nil {
			return fmt.Errorf("sqldb: finish upload: %w", err)
		}
		return nil
	})
}

// StaleUploads implements storage.Uploads.
func (db *DB) StaleUploads(ctx context.Context, before time.Time) ([]storage.Upload, error) {
	rows, err := db.read().query(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE updated < ? ORDER BY updated`, before.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqldb: stale uploads: %w", err)
	}
	defer rows.Close()
	var out []storage.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("sqldb: stale uploads: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: stale uploads: %w", err)
	}
	return out, nil
}
