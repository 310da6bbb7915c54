package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/chartd/chartd/internal/ctxio"
)

// The parts of resumable (chunked) OCI uploads: each chunk is an object of
// its own under the upload's prefix until the upload is finished.

// partKey returns the key of part number part (0-based) of an upload. The
// upload ID is restricted to a safe alphabet since it comes from a URL.
func partKey(uploadID string, part int) (string, error) {
	if uploadID == "" || len(uploadID) > 128 || strings.Trim(uploadID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", fmt.Errorf("storage: invalid upload id %q: %w", uploadID, ErrNotFound)
	}
	if part < 0 {
		return "", fmt.Errorf("storage: invalid part %d", part)
	}
	return fmt.Sprintf("%s%s/%08d", uploadPrefix, uploadID, part), nil
}

// PutPart stores part number part (0-based) of an upload session, replacing
// an earlier attempt at the same part. It returns the bytes written; nothing
// is stored when reading r fails.
func (s *BlobStore) PutPart(ctx context.Context, uploadID string, part int, r io.Reader) (n int64, err error) {
	key, err := partKey(uploadID, part)
	if err != nil {
		return 0, err
	}
	var file *os.File // set by a file bucket
	w, err := s.newWriter(ctx, key, &blob.WriterOptions{
		ContentType: contentType,
		BeforeWrite: func(as func(any) bool) error { as(&file); return nil },
	})
	if err != nil {
		return 0, fmt.Errorf("storage: put part: %w", err)
	}
	dst := []io.Writer{countingWriter{w, &s.written}}
	if file != nil {
		// A lone part usually becomes the blob itself (see linkPart),
		// which is synced then: start its writeback while it arrives.
		dst = append(dst, &fileSyncer{f: file})
	}
	n, err = copyLarge(io.MultiWriter(dst...), r)
	if err != nil {
		w.Abort()
		return 0, fmt.Errorf("storage: put part: %w", err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("storage: put part: %w", err)
	}
	return n, nil
}

// ComposeParts streams parts 0..parts-1 in order into the blob expected,
// committing it only when the concatenation hashes to expected. When the blob
// already exists the parts are still verified, and nothing is written. The
// parts are left in place: DeleteParts removes them.
func (s *BlobStore) ComposeParts(ctx context.Context, uploadID string, parts int, expected digest.Digest) (Descriptor, error) {
	key, err := blobKey(expected)
	if err != nil {
		return Descriptor{}, err
	}
	if parts == 1 && s.root != "" {
		if desc, ok, err := s.linkPart(ctx, uploadID, key, expected); ok {
			return desc, err
		}
	}
	concat := func(w io.Writer) (int64, error) {
		var total int64
		for i := range parts {
			pk, err := partKey(uploadID, i)
			if err != nil {
				return total, err
			}
			rd, err := s.bucket.NewReader(ctx, pk, nil)
			if err != nil {
				return total, fmt.Errorf("storage: part %d: %w", i, mapErr(err))
			}
			n, err := io.Copy(w, rd)
			rd.Close()
			total += n
			if err != nil {
				return total, fmt.Errorf("storage: part %d: %w", i, err)
			}
		}
		return total, nil
	}
	if desc, err := s.Stat(ctx, expected); err == nil {
		// Same cost as a new blob, so timing does not reveal the existing one.
		tmp := tmpPrefix + randomID()
		_, err := s.writeVerified(ctx, tmp, expected, concat)
		if err == nil {
			_ = s.bucket.Delete(context.WithoutCancel(ctx), tmp)
		}
		return desc, err
	} else if !errors.Is(err, ErrNotFound) {
		return Descriptor{}, err
	}
	n, err := s.writeVerified(ctx, key, expected, concat)
	if err != nil {
		return Descriptor{}, err
	}
	return Descriptor{Digest: expected, Size: n}, nil
}

// DeleteParts removes parts 0..parts-1 of an upload; missing parts are fine.
func (s *BlobStore) DeleteParts(ctx context.Context, uploadID string, parts int) error {
	var errs []error
	for i := range parts {
		pk, err := partKey(uploadID, i)
		if err != nil {
			return err
		}
		if err := s.bucket.Delete(ctx, pk); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: delete parts of %s: %w", uploadID, err)
	}
	return nil
}

// linkPart commits the single part of an upload on a local disk as the blob
// without copying it: docker and containerd send a blob as one PATCH and a
// bare PUT, and copying it would write every byte twice. The part's file
// gets a private hard link first, so the bytes verified are the bytes
// committed whatever another request does to the part meanwhile (a part is
// replaced by renaming a new file over it, never rewritten in place); then
// it is verified against expected, synced, and linked under the blob's key,
// which fails harmlessly when the blob exists. ok is false when links are
// not possible here, and the caller copies instead.
func (s *BlobStore) linkPart(ctx context.Context, uploadID, key string, expected digest.Digest) (desc Descriptor, ok bool, err error) {
	pk, err := partKey(uploadID, 0)
	if err != nil {
		return Descriptor{}, true, err
	}
	tmpDir := s.localPath(tmpPrefix)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return Descriptor{}, false, nil
	}
	tmp := filepath.Join(tmpDir, randomID())
	if err := os.Link(s.localPath(pk), tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, true, fmt.Errorf("storage: part 0: %w: %w", ErrNotFound, err)
		}
		return Descriptor{}, false, nil // no hard links here: copy
	}
	defer os.Remove(tmp)
	f, err := os.Open(tmp)
	if err != nil {
		return Descriptor{}, true, fmt.Errorf("storage: part 0: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Descriptor{}, true, fmt.Errorf("storage: part 0: %w", err)
	}
	// The disk writes what PutPart has not yet handed over while the
	// bytes are hashed; the sync below then has little left to wait for.
	startWriteback(f, 0, info.Size())
	v := expected.Verifier()
	n, err := io.CopyBuffer(v, ctxio.Reader(ctx, f), make([]byte, 256<<10))
	if err != nil {
		return Descriptor{}, true, fmt.Errorf("storage: part 0: %w", err)
	}
	if !v.Verified() {
		return Descriptor{}, true, fmt.Errorf("%w: expected %s", ErrDigestMismatch, expected)
	}
	fsync := &fileSyncer{f: f, synced: &s.synced}
	if err := fsync.sync(); err != nil {
		return Descriptor{}, true, err
	}
	final := s.localPath(key)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return Descriptor{}, true, fmt.Errorf("storage: commit %s: %w", expected, err)
	}
	// An existing blob (a concurrent commit, or another tenant's) is the
	// same bytes: the failed link is the whole of the difference in cost.
	if err := os.Link(tmp, final); err != nil && !errors.Is(err, fs.ErrExist) {
		return Descriptor{}, true, fmt.Errorf("storage: commit %s: %w", expected, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return Descriptor{}, true, err
	}
	return Descriptor{Digest: expected, Size: n}, true, nil
}
