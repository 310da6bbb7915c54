package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/storage"
)

// Helm's reserved media types (helm.sh/helm/v3/pkg/registry/constants.go).
const (
	ConfigMediaType           = helmoci.ConfigMediaType
	ChartLayerMediaType       = helmoci.ChartLayerMediaType
	ProvLayerMediaType        = helmoci.ProvLayerMediaType
	LegacyChartLayerMediaType = helmoci.LegacyChartLayerMediaType
)

// ErrNotChart is wrapped by ParseChartManifest's errors when a manifest
// claims to be a Helm chart (by its config media type) but is not a valid one.
var ErrNotChart = errors.New("invalid helm chart manifest")

// ChartManifest builds Helm's OCI face of a chart version deterministically:
// the config blob (Chart.yaml metadata as JSON, as Helm writes it) and the
// image manifest (schemaVersion 2, mediaType
// application/vnd.oci.image.manifest.v1+json, no artifactType, layers chart
// (+prov) sorted by digest as Helm orders them, Helm's annotations
// org.opencontainers.image.title/version/description/url/created/source/authors;
// Chart.yaml annotations copied but not overriding title/version).
//
// created is written as RFC 3339 in UTC; a zero created omits the annotation.
// Unlike `helm push`, the manifest carries its mediaType field, as the image
// spec recommends; Helm omits it. Layers, config and annotations are the same.
func ChartManifest(meta *chart.Metadata, chartLayer storage.Descriptor, prov *storage.Descriptor, created time.Time) (manifest, config []byte, err error) {
	if meta == nil {
		return nil, nil, errors.New("oci: chart manifest: no metadata")
	}
	if err := chartLayer.Digest.Validate(); err != nil {
		return nil, nil, fmt.Errorf("oci: chart manifest: chart layer: %w", err)
	}
	// Helm marshals its chart.Metadata, whose field order and JSON tags ours
	// mirror, so the bytes (and thus the config digest) are the same.
	config, err = json.Marshal(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: chart manifest: config: %w", err)
	}
	layers := []ocispec.Descriptor{{
		MediaType: ChartLayerMediaType,
		Digest:    chartLayer.Digest,
		Size:      chartLayer.Size,
	}}
	if prov != nil {
		if err := prov.Digest.Validate(); err != nil {
			return nil, nil, fmt.Errorf("oci: chart manifest: prov layer: %w", err)
		}
		layers = append(layers, ocispec.Descriptor{
			MediaType: ProvLayerMediaType,
			Digest:    prov.Digest,
			Size:      prov.Size,
		})
	}
	// Helm sorts the layers by digest "for determinism"; a client that
	// compares manifests (or a mirror) sees the same order from us.
	sort.Slice(layers, func(i, j int) bool { return layers[i].Digest < layers[j].Digest })

	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ConfigMediaType,
			Digest:    digest.FromBytes(config),
			Size:      int64(len(config)),
		},
		Layers:      layers,
		Annotations: helmoci.Annotations(meta, created),
	}
	manifest, err = json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: chart manifest: %w", err)
	}
	return manifest, config, nil
}

// ParseChartManifest recognises a Helm chart manifest (by config media type)
// and returns its config, chart and prov layer descriptors. ok is false (and
// err nil) for a valid manifest that is not a chart; err wraps ErrNotChart
// when the manifest claims to be a chart but its layers are not Helm's.
func ParseChartManifest(manifest []byte) (config, chartLayer storage.Descriptor, prov *storage.Descriptor, ok bool, err error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return config, chartLayer, nil, false, fmt.Errorf("oci: parse manifest: %w", err)
	}
	if m.Config.MediaType != ConfigMediaType {
		return config, chartLayer, nil, false, nil
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return config, chartLayer, nil, false, fmt.Errorf("%w: media type %q is not an image manifest", ErrNotChart, m.MediaType)
	}
	if config, err = descriptorOf(m.Config); err != nil {
		return config, chartLayer, nil, false, fmt.Errorf("%w: config: %v", ErrNotChart, err)
	}
	var haveChart bool
	for _, l := range m.Layers {
		d, err := descriptorOf(l)
		if err != nil {
			return config, chartLayer, nil, false, fmt.Errorf("%w: layer: %v", ErrNotChart, err)
		}
		switch l.MediaType {
		case ChartLayerMediaType, LegacyChartLayerMediaType:
			if haveChart {
				return config, chartLayer, nil, false, fmt.Errorf("%w: more than one chart layer", ErrNotChart)
			}
			chartLayer, haveChart = d, true
		case ProvLayerMediaType:
			if prov != nil {
				return config, chartLayer, nil, false, fmt.Errorf("%w: more than one provenance layer", ErrNotChart)
			}
			prov = &d
		default:
			// Helm ignores other layers on pull, but a chart with layers
			// the index face cannot represent would be two different things
			// depending on the API used to fetch it.
			return config, chartLayer, nil, false, fmt.Errorf("%w: unexpected layer media type %q", ErrNotChart, l.MediaType)
		}
	}
	if !haveChart {
		return config, chartLayer, nil, false, fmt.Errorf("%w: no chart layer", ErrNotChart)
	}
	return config, chartLayer, prov, true, nil
}

func descriptorOf(d ocispec.Descriptor) (storage.Descriptor, error) {
	if err := d.Digest.Validate(); err != nil {
		return storage.Descriptor{}, fmt.Errorf("digest %q: %w", d.Digest, err)
	}
	if d.Size < 0 {
		return storage.Descriptor{}, fmt.Errorf("negative size %d", d.Size)
	}
	return storage.Descriptor{Digest: d.Digest, Size: d.Size}, nil
}

// TagFromVersion is the OCI tag of a chart version: OCI tags cannot hold
// '+', so Helm writes SemVer build metadata with '_'.
func TagFromVersion(v string) string { return strings.ReplaceAll(v, "+", "_") }

// VersionFromTag reverses TagFromVersion, as Helm does when reading tags.
func VersionFromTag(t string) string { return strings.ReplaceAll(t, "_", "+") }
