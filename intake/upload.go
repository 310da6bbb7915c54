package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// Commit makes a received archive a version of its target: it applies the
// signature policy to prov (nil: none came), builds the OCI face, and
// commits both faces in one PutChart. force is the request's own ask to
// replace an existing version, which the caller has checked the operator
// allows (ChartMuseum's ?force); Limits.AllowOverwrite allows it always.
func (in *Intake) Commit(ctx context.Context, rc *Received, prov []byte, force bool) (storage.ChartVersion, error) {
	t, md := rc.target, rc.meta
	tn, err := in.cfg.Meta.EnsureTenant(ctx, t.Path)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	cv := storage.ChartVersion{
		TenantID: tn.ID,
		Name:     md.Name,
		Version:  md.Version,
		Digest:   rc.desc.Digest,
		Size:     rc.desc.Size,
		Created:  in.cfg.Now().UTC(),
	}
	if prov, err = in.signOrVerify(ctx, t, &cv, md, prov); err != nil {
		return storage.ChartVersion{}, err
	}
	var mine []owned
	if prov != nil {
		d, err := in.pushBytes(ctx, "provenance", prov)
		if err != nil {
			return storage.ChartVersion{}, err
		}
		cv.ProvDigest, cv.ProvSize = d.Digest, d.Size
		mine = append(mine, owned{d.Digest, prov})
	}
	c, face, err := in.face(ctx, &cv, md)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	opt := storage.PutOptions{Overwrite: in.cfg.Limits.AllowOverwrite || force, Link: true, Quota: in.quota(t)}
	err = in.retry(ctx, append(mine, face...), func() error { return in.cfg.Meta.PutChart(ctx, c, opt) })
	return c.Version, err
}

// Import adopts an archive found in a ChartMuseum storage layout, with its
// .prov (nil: none), under every rule an upload obeys. A version that
// already exists is storage.ErrExists and left alone.
func (in *Intake) Import(ctx context.Context, t Target, archive io.Reader, prov []byte) (storage.ChartVersion, error) {
	rc, err := in.Receive(ctx, t, archive, prov == nil)
	if err != nil {
		return storage.ChartVersion{}, err
	}
	return in.Commit(ctx, rc, prov, false)
}

// signOrVerify applies the tenant's signature policy to an archive that is
// committed as cv.Digest, recording the signer in cv. It returns the
// provenance file to store: prov, or the server's signature of an unsigned
// chart, or nil.
func (in *Intake) signOrVerify(ctx context.Context, t Target, cv *storage.ChartVersion, md *chart.Metadata, prov []byte) ([]byte, error) {
	file := chart.ArchiveName(md)
	if prov == nil {
		s := in.cfg.Policy.Signer()
		if s == nil {
			return nil, in.cfg.Policy.requireSigned(t.Tenant, false, "a provenance file")
		}
		rc, err := in.cfg.Blobs.Fetch(ctx, cv.Digest)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		signed, err := s.Sign(ctx, md, file, rc)
		if err != nil {
			return nil, fmt.Errorf("intake: server signing: %w", err)
		}
		cv.Signer, cv.SignerFingerprint, cv.ServerSigned = s.Identity(), s.Fingerprint(), true
		return signed, nil
	}
	if in.cfg.Policy.Mode(t.Tenant) == PolicyOff {
		return prov, nil
	}
	if err := in.verifyStored(ctx, t.Tenant, cv, prov, file); err != nil {
		return nil, err
	}
	return prov, nil
}

// verifyStored verifies prov against the tenant's keys and the archive
// read back from the store, and records the signer in cv.
func (in *Intake) verifyStored(ctx context.Context, tenant string, cv *storage.ChartVersion, prov []byte, file string) error {
	ring, err := in.keyring(ctx, tenant)
	if err != nil {
		return err
	}
	rc, err := in.cfg.Blobs.Fetch(ctx, cv.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	v, err := verify(ctx, ring, prov, file, rc)
	if err != nil {
		return err
	}
	cv.Signer, cv.SignerFingerprint = v.SignedBy, v.Fingerprint
	return nil
}

// AttachProv adds a provenance file to a version of t that exists without
// one (or, when overwriting is allowed, replaces its provenance), under the
// tenant's policy; the OCI face gains the provenance layer in the same write.
func (in *Intake) AttachProv(ctx context.Context, t Target, prov []byte, force bool) error {
	if err := t.check(); err != nil {
		return err
	}
	metaYAML, _, err := provenance.ParseProv(prov)
	if err != nil {
		return fmt.Errorf("invalid provenance file: %w", err)
	}
	md, err := chart.ParseMetadata(metaYAML)
	if err != nil {
		return fmt.Errorf("invalid provenance file: %w", err)
	}
	missing := fmt.Errorf("%w: chart %s-%s does not exist: upload the chart before its provenance file", ErrNoChart, md.Name, md.Version)
	tn, err := in.cfg.Meta.Tenant(ctx, t.Path)
	if errors.Is(err, storage.ErrNotFound) {
		return missing
	}
	if err != nil {
		return err
	}
	cv, err := in.cfg.Meta.ChartVersion(ctx, tn.ID, md.Name, md.Version)
	if errors.Is(err, storage.ErrNotFound) {
		return missing
	}
	if err != nil {
		return err
	}
	if cv.ProvDigest != "" && !(in.cfg.Limits.AllowOverwrite || force) {
		return fmt.Errorf("%w: chart %s-%s already has a provenance file", storage.ErrExists, md.Name, md.Version)
	}
	var stored chart.Metadata
	if err := json.Unmarshal(cv.Metadata, &stored); err != nil {
		return fmt.Errorf("intake: stored metadata of %s-%s: %w", cv.Name, cv.Version, err)
	}
	cv.Signer, cv.SignerFingerprint, cv.ServerSigned = "", "", false
	if in.cfg.Policy.Mode(t.Tenant) != PolicyOff {
		if err := in.verifyStored(ctx, t.Tenant, &cv, prov, chart.ArchiveName(&stored)); err != nil {
			return err
		}
	}
	d, err := in.pushBytes(ctx, "provenance", prov)
	if err != nil {
		return err
	}
	cv.ProvDigest, cv.ProvSize = d.Digest, d.Size
	c, face, err := in.face(ctx, &cv, &stored)
	if err != nil {
		return err
	}
	return in.retry(ctx, append(face, owned{d.Digest, prov}), func() error { return in.cfg.Meta.SetProvenance(ctx, c) })
}

// face builds the OCI face of a version that arrived as an archive,
// deterministically: the config blob (Chart.yaml as JSON, as Helm writes
// it) and Helm's manifest, committed as blobs, with the manifest's row. It
// fills cv's metadata and face fields.
func (in *Intake) face(ctx context.Context, cv *storage.ChartVersion, md *chart.Metadata) (storage.Chart, []owned, error) {
	config, err := helmoci.Config(md)
	if err != nil {
		return storage.Chart{}, nil, err
	}
	cfgDesc := ocispec.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))}
	var prov *ocispec.Descriptor
	if cv.ProvDigest != "" {
		prov = &ocispec.Descriptor{Digest: cv.ProvDigest, Size: cv.ProvSize}
	}
	m := helmoci.Manifest(md, cfgDesc, ocispec.Descriptor{Digest: cv.Digest, Size: cv.Size}, prov, cv.Created)
	// Unlike `helm push`, the face carries its mediaType, as the image spec
	// recommends; layers, config and annotations are Helm's.
	m.MediaType = ocispec.MediaTypeImageManifest
	body, err := json.Marshal(m)
	if err != nil {
		return storage.Chart{}, nil, fmt.Errorf("intake: encode manifest: %w", err)
	}
	// The digests are known up front, so the store writes each blob once,
	// straight to its final key.
	if _, err := in.pushBytes(ctx, "chart config", config); err != nil {
		return storage.Chart{}, nil, err
	}
	md2, err := in.pushBytes(ctx, "chart manifest", body)
	if err != nil {
		return storage.Chart{}, nil, err
	}
	cv.Metadata = config
	cv.ConfigDigest, cv.ConfigSize = cfgDesc.Digest, cfgDesc.Size
	cv.ManifestDigest, cv.ManifestSize = md2.Digest, md2.Size
	row := storage.Manifest{
		Digest:          md2.Digest,
		Size:            md2.Size,
		MediaType:       ocispec.MediaTypeImageManifest,
		ArtifactType:    helmoci.ConfigMediaType,
		ConfigDigest:    cfgDesc.Digest,
		ConfigMediaType: helmoci.ConfigMediaType,
		Blobs:           []digest.Digest{cfgDesc.Digest},
		Annotations:     m.Annotations,
		Created:         cv.Created,
	}
	for _, l := range m.Layers {
		row.Blobs = append(row.Blobs, l.Digest)
	}
	c := storage.Chart{Version: *cv, Manifest: row, Tag: helmoci.Tag(cv.Version)}
	return c, []owned{{cfgDesc.Digest, config}, {md2.Digest, body}}, nil
}
