package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/storage"
)

// Bounds on the small blobs of a chart push, which are read into memory.
const (
	maxConfigSize = 1 << 20
	maxProvSize   = 1 << 20
)

// MaxProvSize bounds a provenance file through every protocol: real ones
// are a few KiB.
const MaxProvSize = maxProvSize

// Push is a chart manifest pushed over OCI, as the registry parsed it.
type Push struct {
	Target Target
	// Repository is the OCI repository pushed to, below Target.Path; its
	// name must be the chart's.
	Repository storage.Repository
	// Manifest is the registry's row of the pushed manifest (digest, size,
	// media type, blobs, annotations, created).
	Manifest storage.Manifest
	Body     []byte
	// Tags are the tags the push asks for (none: a push by digest).
	Tags []string
}

// IsChart reports whether a manifest row is a chart's by its config media
// type: such a manifest is committed through PushManifest, never as a
// plain artifact, so no chart escapes the rules by its form.
func IsChart(m storage.Manifest) bool { return helmoci.IsConfigMediaType(m.ConfigMediaType) }

// PushManifest makes a pushed chart manifest a version. The chart is read
// from the blobs the repository holds (the archive streamed through the
// loader, never buffered), the index face is built from the archive, not
// from the config a client wrote, and both faces are committed in one
// PutChart. It returns the tag the version has: its version, '+' as '_'.
//
// The same archive and provenance pushed again to an existing version is
// accepted (its faces move to the new manifest); other content is
// storage.ErrExists unless Limits.AllowOverwrite.
func (in *Intake) PushManifest(ctx context.Context, p Push) (string, error) {
	l, err := helmoci.ParseManifest(p.Body)
	if err != nil {
		return "", err
	}
	// Checks that need nothing stored.
	if err := p.Target.check(); err != nil {
		return "", err
	}
	if err := CheckRepository(p.Target.Path, p.Repository.Name); err != nil {
		return "", err
	}
	if len(l.Other) > 0 {
		// Helm ignores other layers on pull, but a chart with layers the
		// index face cannot carry would be two different things depending
		// on the protocol used to fetch it.
		return "", fmt.Errorf("%w: unexpected layer media type %q", ErrManifest, l.Other[0].MediaType)
	}
	if l.Chart.Digest.Algorithm() != digest.SHA256 {
		// The index face publishes the archive's sha256; Helm writes nothing else.
		return "", fmt.Errorf("%w: the chart layer must be addressed by sha256, not %s", ErrManifest, l.Chart.Digest.Algorithm())
	}
	if max := in.cfg.Limits.MaxArchiveSize; max > 0 && l.Chart.Size > max {
		return "", fmt.Errorf("%w: the chart layer is %d bytes, larger than %d (--max-upload-size)", chart.ErrTooLarge, l.Chart.Size, max)
	}
	if l.Config.Size > maxConfigSize {
		return "", fmt.Errorf("%w: the chart config is %d bytes, the limit is %d", chart.ErrTooLarge, l.Config.Size, maxConfigSize)
	}
	if l.Prov == nil {
		// An OCI push cannot be signed by the server: the client names the
		// manifest by its digest.
		if err := in.cfg.Policy.requireSigned(p.Target.Tenant, false, "a provenance layer"); err != nil {
			return "", err
		}
	} else if l.Prov.Size > maxProvSize {
		return "", fmt.Errorf("%w: the provenance layer is %d bytes, the limit is %d", chart.ErrTooLarge, l.Prov.Size, maxProvSize)
	}

	// Checks that read the repository's blobs.
	repoID := p.Repository.ID
	config, err := in.readLinked(ctx, repoID, "config", l.Config)
	if err != nil {
		return "", err
	}
	var claimed chart.Metadata
	if err := json.Unmarshal(config, &claimed); err != nil {
		return "", fmt.Errorf("%w: config is not chart metadata: %v", ErrManifest, err)
	}
	md, err := in.readArchive(ctx, repoID, l.Chart)
	if err != nil {
		return "", err
	}
	if claimed.Name != md.Name || claimed.Version != md.Version {
		return "", fmt.Errorf("%w: the config describes %s %s but the chart layer holds %s %s", ErrMismatch, claimed.Name, claimed.Version, md.Name, md.Version)
	}
	if md.Name != p.Repository.Name {
		return "", fmt.Errorf("%w: chart %q cannot be pushed to repository %q: the repository's last name component must be the chart name",
			ErrMismatch, md.Name, p.Repository.Name)
	}
	// The same rules on the chart as an upload's (receive.go).
	if err := checkChart(p.Target, md); err != nil {
		return "", err
	}
	tag := helmoci.Tag(md.Version)
	for _, t := range p.Tags {
		if t != tag {
			return "", fmt.Errorf("%w: chart %s version %s must be tagged %q, not %q", ErrMismatch, md.Name, md.Version, tag, t)
		}
	}
	metaJSON, err := helmoci.Config(md)
	if err != nil {
		return "", err
	}
	cv := storage.ChartVersion{
		TenantID:       p.Repository.TenantID,
		Name:           md.Name,
		Version:        md.Version,
		Digest:         l.Chart.Digest,
		Size:           l.Chart.Size,
		Metadata:       metaJSON,
		Created:        p.Manifest.Created,
		ManifestDigest: p.Manifest.Digest,
		ManifestSize:   p.Manifest.Size,
		ConfigDigest:   l.Config.Digest,
		ConfigSize:     l.Config.Size,
	}
	if l.Prov != nil {
		prov, err := in.readLinked(ctx, repoID, "provenance layer", *l.Prov)
		if err != nil {
			return "", err
		}
		cv.ProvDigest, cv.ProvSize = l.Prov.Digest, l.Prov.Size
		if in.cfg.Policy.Mode(p.Target.Tenant) != PolicyOff {
			if err := in.verifyStored(ctx, p.Target.Tenant, &cv, prov, chart.ArchiveName(md)); err != nil {
				return "", err
			}
		}
	}

	// The commit: the manifest's bytes, then both faces in one write.
	if _, err := in.cfg.Blobs.Push(ctx, p.Manifest.Digest, bytes.NewReader(p.Body)); err != nil {
		return "", fmt.Errorf("intake: store manifest: %w", err)
	}
	c := storage.Chart{Version: cv, Manifest: p.Manifest, Tag: tag}
	opt := storage.PutOptions{Overwrite: in.cfg.Limits.AllowOverwrite, Repush: true, Quota: in.quota(p.Target)}
	err = in.retry(ctx, []owned{{p.Manifest.Digest, p.Body}}, func() error { return in.cfg.Meta.PutChart(ctx, c, opt) })
	return tag, err
}

// linked checks that the repository holds d with the manifest's size; the
// check comes first, so an unlinked digest costs no blob-store read.
func (in *Intake) linked(ctx context.Context, repoID int64, what string, d ocispec.Descriptor) error {
	got, err := in.cfg.Meta.LinkedBlob(ctx, repoID, d.Digest)
	if errors.Is(err, storage.ErrNotFound) {
		return &storage.MissingBlobError{Digest: d.Digest}
	}
	if err != nil {
		return err
	}
	if got.Size != d.Size {
		return fmt.Errorf("%w: %s %s is %d bytes, the manifest says %d", ErrManifest, what, d.Digest, got.Size, d.Size)
	}
	return nil
}

// readLinked reads a small linked blob (config, provenance) whose size the
// caller has bounded.
func (in *Intake) readLinked(ctx context.Context, repoID int64, what string, d ocispec.Descriptor) ([]byte, error) {
	if err := in.linked(ctx, repoID, what, d); err != nil {
		return nil, err
	}
	rc, err := in.cfg.Blobs.Fetch(ctx, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("intake: read %s %s: %w", what, d.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("intake: read %s %s: %w", what, d.Digest, err)
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("intake: read %s %s: %d bytes, expected %d", what, d.Digest, len(b), d.Size)
	}
	return b, nil
}

// readArchive streams the linked chart layer through the loader, as an
// upload's archive is: memory stays bounded by the loader, not the layer.
func (in *Intake) readArchive(ctx context.Context, repoID int64, d ocispec.Descriptor) (*chart.Metadata, error) {
	if err := in.linked(ctx, repoID, "chart layer", d); err != nil {
		return nil, err
	}
	rc, err := in.cfg.Blobs.Fetch(ctx, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("intake: read chart layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	info, err := chart.ReadArchiveMetadata(ctx, rc, in.cfg.Limits.Archive)
	if err != nil {
		return nil, fmt.Errorf("the chart layer: %w", err)
	}
	return info.Metadata, nil
}
