package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
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
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return 0, fmt.Errorf("storage: put part: %w", err)
	}
	n, err = io.Copy(w, r)
	if err != nil {
		cancel()
		_ = w.Close()
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
