package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/storage"
)

// Bounds on what a chart push makes the registry read into memory.
const (
	maxChartConfig  = 1 << 20
	maxChartArchive = chart.DefaultMaxDecompressed // compressed can hardly exceed decompressed
	maxChartProv    = 1 << 20
)

// chartVersion turns a pushed Helm chart manifest into its index face: it
// reads the config and the layers (which must be linked in the repository),
// checks that the chart is the one the repository and tag name, runs the
// server's policy, and returns the row the database writes in the same
// transaction as the manifest.
func (g *Registry) chartVersion(ctx context.Context, t target, tags []string, body []byte, m storage.Manifest) (*storage.ChartVersion, error) {
	configDesc, chartDesc, provDesc, ok, err := ParseChartManifest(body)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: not a chart", ErrNotChart)
	}
	if chartDesc.Digest.Algorithm() != digest.SHA256 {
		// The index face publishes the archive's sha256; Helm writes nothing else.
		return nil, fmt.Errorf("%w: the chart layer must be addressed by sha256, not %s", ErrNotChart, chartDesc.Digest.Algorithm())
	}
	config, err := g.readLinked(ctx, t, "config", configDesc, maxChartConfig)
	if err != nil {
		return nil, err
	}
	tgz, err := g.readLinked(ctx, t, "chart layer", chartDesc, maxChartArchive)
	if err != nil {
		return nil, err
	}
	var prov []byte
	if provDesc != nil {
		if prov, err = g.readLinked(ctx, t, "provenance layer", *provDesc, maxChartProv); err != nil {
			return nil, err
		}
	}
	meta, err := chartMetadata(ctx, config, tgz)
	if err != nil {
		return nil, err
	}
	if meta.Name != t.repoName {
		return nil, fmt.Errorf("%w: chart %q cannot be pushed to repository %q: the repository's last name component must be the chart name", ErrNotChart, meta.Name, t.name)
	}
	for _, tag := range tags {
		if tag != TagFromVersion(meta.Version) {
			return nil, fmt.Errorf("%w: chart %s version %s must be tagged %q, not %q", ErrNotChart, meta.Name, meta.Version, TagFromVersion(meta.Version), tag)
		}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("oci: encode chart metadata: %w", err)
	}
	cv := &storage.ChartVersion{
		TenantID:       t.tenant.ID,
		Name:           meta.Name,
		Version:        meta.Version,
		Digest:         chartDesc.Digest,
		Size:           chartDesc.Size,
		Metadata:       metaJSON,
		Created:        m.Created,
		ManifestDigest: m.Digest,
		ManifestSize:   m.Size,
		ConfigDigest:   configDesc.Digest,
		ConfigSize:     configDesc.Size,
	}
	if provDesc != nil {
		cv.ProvDigest, cv.ProvSize = provDesc.Digest, provDesc.Size
	}
	if g.cfg.ValidateChart != nil {
		if err := g.cfg.ValidateChart(ctx, t.tenantPath, cv, tgz, prov); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errChartRejected, err)
		}
	}
	return cv, nil
}

// readLinked reads a blob the manifest references, which must be linked in
// the repository (the check comes first, so an unlinked digest costs no
// blob-store read) and have the size the manifest claims.
func (g *Registry) readLinked(ctx context.Context, t target, what string, d storage.Descriptor, limit int64) ([]byte, error) {
	linked, err := g.cfg.Meta.LinkedBlob(ctx, t.repo.ID, d.Digest)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, &storage.MissingBlobError{Digest: d.Digest}
		}
		return nil, err
	}
	if linked.Size != d.Size {
		return nil, fmt.Errorf("%w: %s %s is %d bytes, the manifest says %d", errManifestInvalid, what, d.Digest, linked.Size, d.Size)
	}
	if d.Size > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", chart.ErrTooLarge, what, d.Size, limit)
	}
	rc, err := g.cfg.Blobs.Fetch(ctx, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("oci: read %s %s: %w", what, d.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("oci: read %s %s: %w", what, d.Digest, err)
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("oci: read %s %s: %d bytes, expected %d", what, d.Digest, len(b), d.Size)
	}
	return b, nil
}

// chartMetadata validates the chart archive as the ChartMuseum API does
// and returns its Chart.yaml, which must be the chart the config describes.
// The index face is built from the archive, not from the config a client
// wrote, so both APIs serve the same metadata for the same bytes.
func chartMetadata(ctx context.Context, config, tgz []byte) (*chart.Metadata, error) {
	var claimed chart.Metadata
	if err := json.Unmarshal(config, &claimed); err != nil {
		return nil, fmt.Errorf("%w: config is not chart metadata: %v", ErrNotChart, err)
	}
	info, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(tgz), chart.Limits{})
	if err != nil {
		return nil, fmt.Errorf("oci: chart layer: %w", err)
	}
	meta := info.Metadata
	if claimed.Name != meta.Name || claimed.Version != meta.Version {
		return nil, fmt.Errorf("%w: config describes %s %s but the chart layer holds %s %s", ErrNotChart, claimed.Name, claimed.Version, meta.Name, meta.Version)
	}
	return meta, nil
}
