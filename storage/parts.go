package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/chartd/chartd/internal/ctxio"
)

// The parts of resumable (chunked) OCI uploads. Every attempt at a chunk is
// an object of its own under the upload's prefix, named by a random part
// ID, so two requests racing for one offset never write the same key. A
// part counts only once the session's row lists it, which the offset's
// compare-and-swap decides; the parts are gone when the session ends.

// PutPart stores one chunk of an upload session under a new part ID, which
// it returns with the bytes written; nothing is stored when reading r
// fails. The part is not part of the upload until the session records it.
func (s *BlobStore) PutPart(ctx context.Context, uploadID string, r io.Reader) (part string, n int64, err error) {
	defer s.unreachable(ctx, &err)
	part = randomID()
	key, err := partKey(uploadID, part)
	if err != nil {
		return "", 0, err
	}
	var file *os.File // set by a file bucket
	w, err := s.newWriter(ctx, key, &blob.WriterOptions{
		ContentType: contentType,
		BeforeWrite: func(as func(any) bool) error { as(&file); return nil },
	})
	if err != nil {
		return "", 0, fmt.Errorf("storage: put part: %w", err)
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
		return "", 0, fmt.Errorf("storage: put part: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", 0, fmt.Errorf("storage: put part: %w", err)
	}
	return part, n, nil
}

// DeletePart removes one part, one the session did not accept; a missing
// part is fine.
func (s *BlobStore) DeletePart(ctx context.Context, uploadID, part string) (err error) {
	defer s.unreachable(ctx, &err)
	key, err := partKey(uploadID, part)
	if err != nil {
		return err
	}
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("storage: delete part %s of %s: %w", part, uploadID, err)
	}
	return nil
}

// ComposeParts streams the parts, in order, into the blob expected,
// committing it only when the concatenation hashes to expected. As with
// Push, an existing blob costs the same and is left untouched. The parts
// stay in place: DeleteParts removes them.
func (s *BlobStore) ComposeParts(ctx context.Context, uploadID string, parts []string, expected digest.Digest) (_ Descriptor, err error) {
	defer s.unreachable(ctx, &err)
	key, err := blobKey(expected)
	if err != nil {
		return Descriptor{}, err
	}
	if len(parts) == 1 && s.root != "" {
		if desc, ok, err := s.linkPart(ctx, uploadID, parts[0], key, expected); ok {
			return desc, err
		}
	}
	concat := func(w io.Writer) (int64, error) {
		var total int64
		for _, part := range parts {
			pk, err := partKey(uploadID, part)
			if err != nil {
				return total, err
			}
			rd, err := s.bucket.NewReader(ctx, pk, nil)
			if err != nil {
				return total, fmt.Errorf("storage: part %s: %w", part, mapErr(err))
			}
			n, err := io.Copy(w, rd)
			rd.Close()
			total += n
			if err != nil {
				return total, fmt.Errorf("storage: part %s: %w", part, err)
			}
		}
		return total, nil
	}
	n, err := s.commit(ctx, key, expected, concat)
	if err != nil {
		return Descriptor{}, err
	}
	return Descriptor{Digest: expected, Size: n}, nil
}

// DeleteParts removes every part of an upload, accepted or not (an attempt
// that lost its race, or whose process died, leaves one), and on a local
// disk the upload's directory with them.
func (s *BlobStore) DeleteParts(ctx context.Context, uploadID string) (err error) {
	defer s.unreachable(ctx, &err)
	prefix, err := uploadsKey(uploadID)
	if err != nil {
		return err
	}
	if s.root != "" {
		if err := os.RemoveAll(s.localPath(prefix)); err != nil {
			return fmt.Errorf("storage: delete parts of %s: %w", uploadID, err)
		}
		return nil
	}
	var errs []error
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
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
// gets a staging link of its own first, so the bytes verified are the bytes
// committed whatever another request does to the part meanwhile (parts are
// written once and never rewritten); it is verified against expected,
// synced, and committed like any other blob (see place), which leaves an
// existing blob alone at the same cost. ok is false when links are not
// possible here, and the caller copies instead.
func (s *BlobStore) linkPart(ctx context.Context, uploadID, part, key string, expected digest.Digest) (desc Descriptor, ok bool, err error) {
	pk, err := partKey(uploadID, part)
	if err != nil {
		return Descriptor{}, true, err
	}
	staging := stagingName(key)
	tmp := s.localPath(staging)
	if err := os.Link(s.localPath(pk), tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Descriptor{}, true, fmt.Errorf("storage: part %s: %w: %w", part, ErrNotFound, err)
		}
		return Descriptor{}, false, nil // no hard links here: copy
	}
	n, err := s.verifyStaged(ctx, tmp, expected)
	if err != nil {
		_ = os.Remove(tmp)
		return Descriptor{}, true, err
	}
	if err := s.place(staging, key); err != nil {
		return Descriptor{}, true, err
	}
	return Descriptor{Digest: expected, Size: n}, true, nil
}

// verifyStaged checks that the file at path hashes to expected, and syncs it.
func (s *BlobStore) verifyStaged(ctx context.Context, path string, expected digest.Digest) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("storage: staged part: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("storage: staged part: %w", err)
	}
	// The disk writes what PutPart has not yet handed over while the
	// bytes are hashed; the sync below then has little left to wait for.
	startWriteback(f, 0, info.Size())
	v := expected.Verifier()
	n, err := io.CopyBuffer(v, ctxio.Reader(ctx, f), make([]byte, 256<<10))
	if err != nil {
		return 0, fmt.Errorf("storage: staged part: %w", err)
	}
	if !v.Verified() {
		return 0, fmt.Errorf("%w: expected %s", ErrDigestMismatch, expected)
	}
	fsync := &fileSyncer{f: f, synced: &s.synced}
	if err := fsync.sync(); err != nil {
		return 0, err
	}
	return n, nil
}
