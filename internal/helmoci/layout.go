package helmoci

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
)

// Errors of ParseManifest.
var (
	// ErrNotChart: the manifest is valid OCI but its config is not Helm's,
	// so it is some other artifact.
	ErrNotChart = errors.New("not a Helm chart")
	// ErrInvalid: the manifest claims to be a chart (by its config media
	// type) but is not laid out as Helm lays charts out.
	ErrInvalid = errors.New("invalid Helm chart manifest")
)

// IsConfigMediaType reports whether mt names Helm's chart config, with or
// without media type parameters ("…+json; charset=utf-8") and in any case,
// as RFC 6838 compares media types. A chart is recognised by its config:
// a check on the exact string would let a chart with a parameter pass as
// "not a chart", past every rule charts obey.
func IsConfigMediaType(mt string) bool {
	if mt == ConfigMediaType {
		return true
	}
	base, _, err := mime.ParseMediaType(mt)
	return err == nil && base == ConfigMediaType
}

// Tag is the OCI tag of a chart version: OCI tags cannot hold '+', so Helm
// writes SemVer build metadata with '_'.
func Tag(version string) string { return strings.ReplaceAll(version, "+", "_") }

// Version reverses Tag, as Helm does when it reads tags.
func Version(tag string) string { return strings.ReplaceAll(tag, "_", "+") }

// Config is the config blob of a chart: Chart.yaml as JSON. Helm marshals
// its chart.Metadata, whose field order and JSON tags ours mirror, so the
// bytes (and the config digest) are Helm's.
func Config(md *chart.Metadata) ([]byte, error) {
	if md == nil {
		return nil, errors.New("helmoci: no chart metadata")
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("helmoci: encode chart config: %w", err)
	}
	return b, nil
}

// Manifest is Helm's image manifest of a chart: schemaVersion 2, no
// artifactType, the config, the chart layer and the optional provenance
// layer sorted by digest (Helm sorts them "for determinism"), and the
// annotations Helm derives from Chart.yaml. Its MediaType is empty, as
// `helm push` leaves it out; a caller that wants the field (the image spec
// recommends it) sets it before marshalling.
func Manifest(md *chart.Metadata, config, chartLayer ocispec.Descriptor, prov *ocispec.Descriptor, created time.Time) ocispec.Manifest {
	config.MediaType = ConfigMediaType
	chartLayer.MediaType = ChartLayerMediaType
	layers := []ocispec.Descriptor{chartLayer}
	if prov != nil {
		p := *prov
		p.MediaType = ProvLayerMediaType
		layers = append(layers, p)
	}
	sort.Slice(layers, func(i, j int) bool { return layers[i].Digest < layers[j].Digest })
	return ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		Config:      config,
		Layers:      layers,
		Annotations: Annotations(md, created),
	}
}

// Layout is what a chart manifest references.
type Layout struct {
	Config ocispec.Descriptor
	Chart  ocispec.Descriptor
	// Legacy is set when the chart layer has the deprecated media type
	// (Helm still pulls it, with a warning).
	Legacy bool
	Prov   *ocispec.Descriptor
	// Other are layers of media types Helm does not know. Helm's pull
	// ignores them; a registry that keeps one index face per chart refuses
	// them.
	Other []ocispec.Descriptor
}

// ParseManifest reads a chart manifest. It fails with ErrNotChart when the
// config is not Helm's, and with ErrInvalid when it is but the manifest is
// no image manifest, has no chart layer, or has two chart or two
// provenance layers (which one would be the chart is then ambiguous).
func ParseManifest(b []byte) (Layout, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Layout{}, fmt.Errorf("%w: %v", ErrNotChart, err)
	}
	if !IsConfigMediaType(m.Config.MediaType) {
		return Layout{}, fmt.Errorf("%w: config media type %q", ErrNotChart, m.Config.MediaType)
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return Layout{}, fmt.Errorf("%w: media type %q is not an image manifest", ErrInvalid, m.MediaType)
	}
	l := Layout{Config: m.Config}
	var haveChart bool
	for _, d := range m.Layers {
		switch d.MediaType {
		case ChartLayerMediaType, LegacyChartLayerMediaType:
			if haveChart {
				return Layout{}, fmt.Errorf("%w: more than one chart layer", ErrInvalid)
			}
			l.Chart, l.Legacy, haveChart = d, d.MediaType == LegacyChartLayerMediaType, true
		case ProvLayerMediaType:
			if l.Prov != nil {
				return Layout{}, fmt.Errorf("%w: more than one provenance layer", ErrInvalid)
			}
			p := d
			l.Prov = &p
		default:
			l.Other = append(l.Other, d)
		}
	}
	if !haveChart {
		return Layout{}, fmt.Errorf("%w: manifest does not contain a layer with mediatype %s", ErrInvalid, ChartLayerMediaType)
	}
	for _, d := range l.descriptors() {
		if err := d.Digest.Validate(); err != nil {
			return Layout{}, fmt.Errorf("%w: digest %q: %v", ErrInvalid, d.Digest, err)
		}
		if d.Size < 0 {
			return Layout{}, fmt.Errorf("%w: %s has a negative size", ErrInvalid, d.Digest)
		}
	}
	return l, nil
}

func (l Layout) descriptors() []ocispec.Descriptor {
	ds := []ocispec.Descriptor{l.Config, l.Chart}
	if l.Prov != nil {
		ds = append(ds, *l.Prov)
	}
	return ds
}

// Digests are the config's and the layers' digests: the blobs a chart
// manifest needs (Other layers excluded).
func (l Layout) Digests() []digest.Digest {
	var out []digest.Digest
	for _, d := range l.descriptors() {
		out = append(out, d.Digest)
	}
	return out
}
