package storage

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// The layout of a chartd bucket, in one place (as distribution's
// registry/storage/paths.go keeps its own). Every key chartd writes is
// built by a function of this file; everything else in the bucket is
// ChartMuseum's, which chartd reads when it imports and never writes.
//
//	blobs/<alg>/<first 2 hex>/<hex>            a committed blob, named by its digest
//	                                           (alg: sha256 or sha512). Written once,
//	                                           never rewritten; only GC deletes it.
//	blobs/<alg>/<2 hex>/<hex>.<id>.tmp         a blob being written to a local disk,
//	                                           next to the name it will be linked to
//	blobs/<alg>/<2 hex>/<hex>.<id>.spent       the same file once linked (or found
//	                                           there already), until the reaper
//	                                           unlinks it (see local.go)
//	blobs/<alg>/<2 hex>/<hex>.<n>.tmp          fileblob's own temporary file, when a
//	                                           bucket opened elsewhere writes a blob
//	_tmp/<id>                                  a blob staged while its digest is
//	                                           computed (a chart from the API)
//	_uploads/<upload id>/<part id>             one PATCH of a chunked OCI upload: each
//	                                           attempt under a name of its own, which
//	                                           counts only once the session's row
//	                                           records it; the directory goes when
//	                                           the session ends
//	_chartd/imported                           the marker that this store's
//	                                           ChartMuseum layout was adopted
//	_chartd/…                                  chartd's other records about the store
//
// <id> is 128 random bits in hex. Nothing under _tmp/, _uploads/ or a
// staging name is ever visible as a blob: Stat and Fetch address exact
// digest keys, and Walk reports only keys DigestOfKey accepts. What an
// interrupted write leaves is removed by SweepStale once it is old.
const (
	blobPrefix   = "blobs/"
	tmpPrefix    = "_tmp/"
	uploadPrefix = "_uploads/"
	// ChartdPrefix holds chartd's own records about the store.
	ChartdPrefix = "_chartd/"
	// ImportedKey marks a store whose ChartMuseum layout chartd adopted, so
	// later starts skip the scan.
	ImportedKey = ChartdPrefix + "imported"

	stagingSuffix = ".tmp"
	spentSuffix   = ".spent"
)

// ChartdKey reports whether key is one chartd writes (blobs, staging,
// upload parts, its own records), as opposed to ChartMuseum's layout.
func ChartdKey(key string) bool {
	for _, p := range []string{blobPrefix, tmpPrefix, uploadPrefix, ChartdPrefix} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// blobKey returns the bucket key of d, or ErrInvalidDigest.
func blobKey(d digest.Digest) (string, error) {
	if err := validDigest(d); err != nil {
		return "", err
	}
	enc := d.Encoded()
	return blobPrefix + string(d.Algorithm()) + "/" + enc[:2] + "/" + enc, nil
}

// blobDirs are the directories every blob key of alg falls in; a local
// store creates them all up front (see OpenBlobs).
func blobDirs(alg digest.Algorithm) []string {
	out := make([]string, 0, 256)
	for i := range 256 {
		out = append(out, fmt.Sprintf("%s%s/%02x", blobPrefix, alg, i))
	}
	return out
}

// DigestOfKey parses a blob key back into its digest; ok is false for any
// other key (staging and spent names beside a blob included), so it also
// tells what in a bucket is a committed blob.
func DigestOfKey(key string) (digest.Digest, bool) {
	rest, ok := strings.CutPrefix(key, blobPrefix)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || len(parts[2]) < 2 || parts[1] != parts[2][:2] {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
	if validDigest(d) != nil {
		return "", false
	}
	return d, true
}

// tmpKey is a fresh key to stage a blob under.
func tmpKey() string { return tmpPrefix + randomID() }

// stagingName and spentName are the names, beside a blob's key, of the
// file a local commit writes and of the same file once committed.
func stagingName(key string) string { return key + "." + randomID() + stagingSuffix }
func spentName(key string) string   { return key + "." + randomID() + spentSuffix }

// uploadsKey returns the prefix under which the parts of an upload live.
// The upload ID comes from a URL, so it is held to a safe alphabet.
func uploadsKey(uploadID string) (string, error) {
	if !safeName(uploadID) {
		return "", fmt.Errorf("storage: invalid upload id %q: %w", uploadID, ErrNotFound)
	}
	return uploadPrefix + uploadID + "/", nil
}

// partKey returns the key of one part of an upload.
func partKey(uploadID, part string) (string, error) {
	prefix, err := uploadsKey(uploadID)
	if err != nil {
		return "", err
	}
	if !safeName(part) {
		return "", fmt.Errorf("storage: invalid part %q of upload %s: %w", part, uploadID, ErrNotFound)
	}
	return prefix + part, nil
}

// safeName accepts 1-128 letters, digits, '-' and '_': never a path
// separator or a dot, and nothing fileblob escapes.
func safeName(s string) bool {
	return s != "" && len(s) <= 128 &&
		strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}
