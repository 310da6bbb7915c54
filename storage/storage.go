// Package storage is chartd's persistence: a content-addressed blob store over
// gocloud.dev/blob, and a metadata database (SQLite or PostgreSQL) that is the
// truth about what exists.
//
// The split follows distribution's store layout: every blob is stored once,
// under its digest, however many tenants use it; repositories and tenants only
// hold reference rows to blobs. A blob is visible to a tenant or repository
// only through such a row, so the existence of a blob elsewhere is never
// revealed.
//
// Interfaces are small, in oras-go's style: a function asks for the narrowest
// one it needs, and optional abilities are discovered by type assertion.
package storage

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors. Callers compare with errors.Is; the server maps them to
// status codes in one table.
var (
	// ErrNotFound: the blob, tenant, chart, manifest, tag or upload does not exist
	// (or is not visible to the caller, which is deliberately indistinguishable).
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique constraint refused the write (a chart version or tag
	// that is already there and may not be overwritten).
	ErrExists = errors.New("already exists")
	// ErrDigestMismatch: the bytes written do not hash to the expected digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch: the bytes written are not of the expected size.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrInvalidDigest: the digest is malformed or of an unsupported algorithm.
	ErrInvalidDigest = errors.New("invalid digest")
	// ErrLimit: a storage limit (e.g. --max-storage-objects) was reached.
	ErrLimit = errors.New("storage limit reached")
	// ErrUnavailable: this server cannot take the request now but another
	// replica, or this one later, can (it is draining for shutdown).
	ErrUnavailable = errors.New("temporarily unavailable")
)

// Descriptor names a blob by digest and size.
type Descriptor struct {
	Digest digest.Digest
	Size   int64
}

// Fetcher reads committed blobs.
type Fetcher interface {
	// Fetch opens the blob. It returns ErrNotFound when it does not exist.
	Fetch(ctx context.Context, d digest.Digest) (io.ReadCloser, error)
}

// RangeFetcher is an optional ability of a Fetcher: reading part of a blob.
type RangeFetcher interface {
	// FetchRange opens length bytes from offset (length < 0: to the end).
	FetchRange(ctx context.Context, d digest.Digest, offset, length int64) (io.ReadCloser, error)
}

// Pusher writes blobs.
type Pusher interface {
	// Push streams r into the store. When expected is non-empty the bytes must
	// hash to it (else ErrDigestMismatch and nothing is committed); when it is
	// empty the digest (sha256) is computed. Writing a digest that already
	// exists commits nothing new. Memory use does not depend on the size.
	Push(ctx context.Context, expected digest.Digest, r io.Reader) (Descriptor, error)
}

// Stater answers whether a blob exists, and its size.
type Stater interface {
	// Stat returns ErrNotFound when the blob does not exist.
	Stat(ctx context.Context, d digest.Digest) (Descriptor, error)
}

// Deleter removes blobs. Only garbage collection calls it.
type Deleter interface {
	Delete(ctx context.Context, d digest.Digest) error
}

// Blobs is the whole blob store.
type Blobs interface {
	Fetcher
	Pusher
	Stater
}

// Tenant is a repository path under which charts live ("" at depth 0,
// "org/team" at depth 2). Generation is bumped by every change to what the
// tenant's index shows, in the same transaction as the change.
type Tenant struct {
	ID         int64
	Path       string
	Generation int64
}

// VersionKey is what identifies a chart version's index entry: an entry
// rendered from a row stays valid while these four do.
type VersionKey struct {
	Name, Version string
	Digest        digest.Digest
	Created       time.Time
}

// ChartVersion is one chart version: its index face and its OCI face.
type ChartVersion struct {
	TenantID int64
	Name     string
	Version  string
	// Digest and Size describe the .tgz blob.
	Digest digest.Digest
	Size   int64
	// ProvDigest is empty when the chart has no provenance file.
	ProvDigest digest.Digest
	ProvSize   int64
	// Metadata is Chart.yaml as JSON (Helm's chart.Metadata encoding).
	Metadata []byte
	Created  time.Time
	// Signer identity and key fingerprint, when a .prov was verified.
	Signer            string
	SignerFingerprint string
	ServerSigned      bool
	// OCI face: the manifest (stored as a blob too) and its config blob.
	// Written in the same transaction as the row, and tagged with the version
	// ('+' written as '_') in the repository <tenant path>/<name>.
	ManifestDigest digest.Digest
	ManifestSize   int64
	ConfigDigest   digest.Digest
	ConfigSize     int64
}

// Tenants finds and creates tenants.
type Tenants interface {
	// Tenant returns the tenant at path, or ErrNotFound.
	Tenant(ctx context.Context, path string) (Tenant, error)
	// EnsureTenant returns the tenant at path, creating it when missing.
	EnsureTenant(ctx context.Context, path string) (Tenant, error)
	// Generation returns the tenant's generation (0 when the tenant does not exist).
	Generation(ctx context.Context, path string) (int64, error)
}

// PutOptions tune PutChart.
type PutOptions struct {
	// Overwrite replaces an existing version instead of failing with ErrExists.
	Overwrite bool
	// Repush accepts an existing version whose archive and provenance are
	// the ones given (an OCI re-push): its faces move to the new manifest.
	// Other content under the version is still ErrExists, unless Overwrite.
	Repush bool
	// Link links the chart's blobs in its repository: the caller received
	// them itself (an upload). Without it every blob of the manifest must
	// already be linked there (an OCI push), else *MissingBlobError.
	Link bool
	// Quota bounds the versions a tenant holds (--max-storage-objects).
	Quota Quota
}

// Quota bounds the chart versions of a tenant. The count and the insert
// are one transaction that holds the tenant's lock, so concurrent uploads
// cannot exceed it.
type Quota struct {
	// Max, when > 0, fails a new version with ErrLimit once Tenant holds
	// Max versions (a replaced version does not count twice).
	Max int
	// Tenant is the tenant's path.
	Tenant string
	// Nested counts the versions of every repository path below Tenant too
	// (fixed --depth, where paths below a tenant belong to it).
	Nested bool
}

// Chart is a chart version with both its faces: what one PutChart writes.
type Chart struct {
	Version ChartVersion
	// Manifest is the OCI face's row, as the caller built it (generated
	// for an upload, parsed from an OCI push): it is stored in repository
	// (Version.TenantID, Version.Name), and its digests must agree with
	// Version's. RepositoryID is filled in by PutChart.
	Manifest Manifest
	// Tag is the version's tag (Helm's: '+' written as '_').
	Tag string
}

// Charts is the index face of chart versions.
type Charts interface {
	// PutChart writes a chart version with both faces in one transaction:
	// the version row, its blob references, its manifest and tag, and the
	// tenant's generation bump. The blobs must already be committed. A
	// concurrent insert of the same (tenant, name, version) yields
	// ErrExists for all but one caller.
	PutChart(ctx context.Context, c Chart, opt PutOptions) error
	// ChartVersion returns one version, or ErrNotFound.
	ChartVersion(ctx context.Context, tenantID int64, name, version string) (ChartVersion, error)
	// ChartVersions returns every version of the tenant (name == "": of every chart).
	ChartVersions(ctx context.Context, tenantID int64, name string) ([]ChartVersion, error)
	// DeleteChartVersion removes the version with both faces and bumps the
	// generation. The blobs stay until garbage collection finds them unreferenced.
	DeleteChartVersion(ctx context.Context, tenantID int64, name, version string) error
	// SetProvenance attaches a .prov blob (and the signer) to an existing
	// version whose archive is c.Version.Digest, replacing its OCI face by
	// c.Manifest; ErrNotFound when no such version holds that archive.
	SetProvenance(ctx context.Context, c Chart) error
}
