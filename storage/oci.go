package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
)

// Repository is an OCI repository. Its full name is the tenant's path joined
// with Name ("org/team" + "mychart"); a chart version of tenant T named N has
// its OCI face in repository (T, N).
type Repository struct {
	ID       int64
	TenantID int64
	Name     string
}

// Manifest is the metadata row of a stored manifest. The manifest bytes are a
// blob in the blob store, committed before the row.
type Manifest struct {
	RepositoryID int64
	Digest       digest.Digest
	Size         int64
	MediaType    string
	ArtifactType string
	// Subject is the digest of the manifest's subject, empty when none
	// (drives the referrers API).
	Subject digest.Digest
	// ConfigDigest and ConfigMediaType are empty for an image index.
	ConfigDigest    digest.Digest
	ConfigMediaType string
	// Blobs are every blob the manifest references (config and layers); an
	// index references manifests in Children instead.
	Blobs    []digest.Digest
	Children []digest.Digest
	// Annotations of the manifest, returned in referrers listings.
	Annotations map[string]string
	Created     time.Time
	// Chart is set by reads when the manifest is a chart version's OCI face.
	// Writes of charts go through Charts.PutChart, never PutManifest.
	Chart *ChartVersion
}

// MissingBlobError reports a manifest that references a blob (or child
// manifest) not linked in the repository.
type MissingBlobError struct {
	Digest digest.Digest
}

func (e *MissingBlobError) Error() string {
	return fmt.Sprintf("blob %s is not known to the repository", e.Digest)
}

// Is makes errors.Is(err, ErrNotFound) true for a missing blob.
func (e *MissingBlobError) Is(target error) bool { return target == ErrNotFound }

// Upload is a resumable OCI upload session. Parts are objects in the blob
// bucket under upload keys; the session survives a restart or a replica change.
type Upload struct {
	ID           string
	RepositoryID int64
	// Offset is the number of bytes received so far.
	Offset int64
	// Parts are the IDs of the accepted parts, in order (BlobStore.PutPart
	// names each attempt; the one that advanced the session is listed).
	Parts   []string
	Started time.Time
	Updated time.Time
}

// Repositories finds and creates OCI repositories.
type Repositories interface {
	// Repository returns the repository, creating it when create is true;
	// otherwise ErrNotFound when it does not exist.
	Repository(ctx context.Context, tenantID int64, name string, create bool) (Repository, error)
	// Catalog lists full repository names in lexical order after last, at
	// most n (n <= 0: all), restricted to the names allowed returns true for.
	Catalog(ctx context.Context, last string, n int, allowed func(name string) bool) ([]string, error)
}

// BlobLinks are the per-repository visibility links of blobs.
type BlobLinks interface {
	// LinkBlob records the (committed) blob globally and links it to the repository.
	LinkBlob(ctx context.Context, repoID int64, d Descriptor) error
	// LinkedBlob returns the blob when it is linked to the repository, else ErrNotFound.
	LinkedBlob(ctx context.Context, repoID int64, d digest.Digest) (Descriptor, error)
	// TenantBlob returns the blob when it is linked in any repository of the
	// tenant, else ErrNotFound (a mount without a source repository).
	TenantBlob(ctx context.Context, tenantID int64, d digest.Digest) (Descriptor, error)
	// UnlinkBlob removes the link (the blob itself stays until GC).
	UnlinkBlob(ctx context.Context, repoID int64, d digest.Digest) error
}

// Manifests stores manifests and tags.
type Manifests interface {
	// PutManifest stores a manifest that is no chart and, when tag != "",
	// points the tag at it, in one transaction. Every referenced blob and
	// child must be linked in the repository, else *MissingBlobError. A tag
	// that is a chart version's stays with it: ErrExists (the version must
	// be deleted first, so the OCI face and index.yaml never disagree).
	PutManifest(ctx context.Context, m Manifest, tag string) error
	// Manifest resolves a tag or a digest in the repository, else ErrNotFound.
	Manifest(ctx context.Context, repoID int64, reference string) (Manifest, error)
	// DeleteManifest removes the manifest, every tag pointing at it, and its
	// chart version if it is one.
	DeleteManifest(ctx context.Context, repoID int64, d digest.Digest) error
	// DeleteTag removes only the tag.
	DeleteTag(ctx context.Context, repoID int64, tag string) error
	// Tags lists tags in lexical order after last, at most n (n <= 0: all).
	Tags(ctx context.Context, repoID int64, last string, n int) ([]string, error)
	// Referrers lists manifests whose subject is d, filtered by artifactType
	// when non-empty, in digest order after last, at most n (n <= 0: all).
	Referrers(ctx context.Context, repoID int64, d digest.Digest, artifactType, last string, n int) ([]Manifest, error)
}

// Uploads stores upload sessions.
type Uploads interface {
	CreateUpload(ctx context.Context, repoID int64) (Upload, error)
	// Upload returns the session when it belongs to the repository, else ErrNotFound.
	Upload(ctx context.Context, repoID int64, id string) (Upload, error)
	// AdvanceUpload moves a session from offset from to u.Offset and
	// u.Parts, as a compare-and-swap on the offset: it fails with ErrExists
	// when another writer advanced it first.
	AdvanceUpload(ctx context.Context, u Upload, from int64) error
	DeleteUpload(ctx context.Context, id string) error
	// FinishUpload links the committed blob d in the session's repository
	// and ends the session, in one transaction. It is for a session with no
	// parts in the bucket (whose removal must precede the row's).
	FinishUpload(ctx context.Context, u Upload, d Descriptor) error
	// StaleUploads lists sessions not updated since before.
	StaleUploads(ctx context.Context, before time.Time) ([]Upload, error)
}
