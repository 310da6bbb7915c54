// Package helmoci is Helm's OCI layout for charts, shared by the registry
// server (oci) and the client (registry) so both build byte-identical
// manifests: the media types, and the annotations Helm derives from
// Chart.yaml.
package helmoci

import (
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
)

// Helm's reserved media types (helm.sh/helm/v3 pkg/registry).
const (
	ConfigMediaType           = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	ProvLayerMediaType        = "application/vnd.cncf.helm.chart.provenance.v1.prov"
	LegacyChartLayerMediaType = "application/tar+gzip"
)

// Annotations are the manifest annotations Helm writes for a chart: title,
// version, description, url, created (omitted when zero), source and
// authors from Chart.yaml, blank values left out; then Chart.yaml's own
// annotations, which may override anything but title and version.
func Annotations(md *chart.Metadata, created time.Time) map[string]string {
	a := map[string]string{}
	put := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			a[k] = v
		}
	}
	put(ocispec.AnnotationDescription, md.Description)
	put(ocispec.AnnotationTitle, md.Name)
	put(ocispec.AnnotationVersion, md.Version)
	put(ocispec.AnnotationURL, md.Home)
	if !created.IsZero() {
		put(ocispec.AnnotationCreated, created.UTC().Format(time.RFC3339))
	}
	if len(md.Sources) > 0 {
		put(ocispec.AnnotationSource, md.Sources[0])
	}
	if len(md.Maintainers) > 0 {
		var b strings.Builder
		for i, m := range md.Maintainers {
			if m != nil {
				b.WriteString(m.Name)
				if m.Email != "" {
					b.WriteString(" (" + m.Email + ")")
				}
			}
			if i < len(md.Maintainers)-1 {
				b.WriteString(", ")
			}
		}
		put(ocispec.AnnotationAuthors, b.String())
	}
	for k, v := range md.Annotations {
		if k == ocispec.AnnotationTitle || k == ocispec.AnnotationVersion {
			continue
		}
		a[k] = v
	}
	return a
}
