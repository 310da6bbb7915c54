package chart

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Default limits. The archive size limits are Helm's own loader caps
// (loader.MaxDecompressedChartSize and loader.MaxDecompressedFileSize), so
// anything we accept real Helm can load.
//
// The metadata limits are chartd's: Helm has none beyond the 5 MiB file cap,
// but every field of Chart.yaml is copied into index.yaml and the OCI config,
// and Chart.yaml compresses well, so without them a few hundred KB of uploads
// grow the index by hundreds of MB. They are set far above what real charts
// use: public Chart.yaml files are a few KiB, the largest (artifacthub.io
// annotations listing CRDs, CRD examples, images and changes) some tens of
// KiB; descriptions are a sentence or a paragraph; an icon is a URL or, at
// most, a small data: URI.
const (
	DefaultMaxDecompressed int64 = 100 << 20
	DefaultMaxFileSize     int64 = 5 << 20
	DefaultMaxFiles              = 10000

	// DefaultMaxChartfileSize bounds Chart.yaml (and requirements.yaml,
	// which Helm merges into the metadata), before and after YAML alias
	// expansion. It is the effective bound on one version's index entry.
	DefaultMaxChartfileSize int64 = 256 << 10
	// DefaultMaxMetadataField bounds each free-text string: description,
	// home, icon, appVersion, kubeVersion, condition, tags, each source and
	// keyword, each maintainer's name, email and URL, and each dependency's
	// fields.
	DefaultMaxMetadataField = 32 << 10
	// DefaultMaxAnnotationsSize bounds the annotations, keys and values
	// together; artifacthub.io annotations are the large ones.
	DefaultMaxAnnotationsSize = 128 << 10
	// DefaultMaxMetadataItems bounds each list or map of the metadata:
	// sources, keywords, maintainers, annotations, dependencies, and each
	// dependency's tags and import-values.
	DefaultMaxMetadataItems = 1000
)

// Limits bound the work and memory spent on one chart archive, nested
// subchart archives included. A zero field takes its default.
type Limits struct {
	// MaxDecompressed bounds, separately, the decompressed gzip stream (tar
	// headers, contents and any padding after the end of the archive) and
	// the file contents (sparse entries expanded) of the archive and of
	// every archive nested in charts/. Helm counts file contents of one
	// archive only, so this is slightly stricter.
	MaxDecompressed int64
	// MaxFiles bounds the number of tar entries, directories included.
	MaxFiles int
	// MaxFileSize bounds a single file, and the alias-expanded size of the
	// YAML files the loader parses (values.yaml, Chart.lock).
	MaxFileSize int64

	// MaxChartfileSize bounds Chart.yaml and requirements.yaml, as stored
	// and after YAML alias expansion.
	MaxChartfileSize int64
	// MaxMetadataField bounds each free-text string of the metadata.
	MaxMetadataField int
	// MaxAnnotationsSize bounds the annotations' keys and values together.
	MaxAnnotationsSize int
	// MaxMetadataItems bounds each list or map of the metadata.
	MaxMetadataItems int
}

// Validate reports every negative limit.
func (l Limits) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxDecompressed", l.MaxDecompressed},
		{"MaxFiles", int64(l.MaxFiles)},
		{"MaxFileSize", l.MaxFileSize},
		{"MaxChartfileSize", l.MaxChartfileSize},
		{"MaxMetadataField", int64(l.MaxMetadataField)},
		{"MaxAnnotationsSize", int64(l.MaxAnnotationsSize)},
		{"MaxMetadataItems", int64(l.MaxMetadataItems)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("chart: Limits.%s must not be negative, got %d", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDecompressed == 0 {
		l.MaxDecompressed = DefaultMaxDecompressed
	}
	if l.MaxFiles == 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxFileSize == 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxChartfileSize == 0 {
		l.MaxChartfileSize = DefaultMaxChartfileSize
	}
	if l.MaxMetadataField == 0 {
		l.MaxMetadataField = DefaultMaxMetadataField
	}
	if l.MaxAnnotationsSize == 0 {
		l.MaxAnnotationsSize = DefaultMaxAnnotationsSize
	}
	if l.MaxMetadataItems == 0 {
		l.MaxMetadataItems = DefaultMaxMetadataItems
	}
	return l
}

// CheckMetadata reports every field of md that exceeds the metadata limits,
// as ErrMetadataTooLarge errors. Run it after Validate, which sanitizes the
// strings it measures. Loading runs it for every chart and subchart, so a
// chart the client packages is one the server accepts.
func (l Limits) CheckMetadata(md *Metadata) error {
	if md == nil {
		return nil
	}
	l = l.withDefaults()
	c := metadataCheck{lim: l}
	for _, f := range []struct {
		name, v string
	}{
		{"name", md.Name},
		{"version", md.Version},
		{"apiVersion", md.APIVersion},
		{"appVersion", md.AppVersion},
		{"kubeVersion", md.KubeVersion},
		{"type", md.Type},
		{"description", md.Description},
		{"home", md.Home},
		{"icon", md.Icon},
		{"condition", md.Condition},
		{"tags", md.Tags},
	} {
		c.field(f.name, f.v)
	}
	c.list("sources", md.Sources)
	c.list("keywords", md.Keywords)
	if c.items("maintainers", len(md.Maintainers)) {
		for i, m := range md.Maintainers {
			if m == nil {
				continue
			}
			c.field(fmt.Sprintf("maintainers[%d].name", i), m.Name)
			c.field(fmt.Sprintf("maintainers[%d].email", i), m.Email)
			c.field(fmt.Sprintf("maintainers[%d].url", i), m.URL)
		}
	}
	if c.items("annotations", len(md.Annotations)) {
		size := 0
		for k, v := range md.Annotations {
			size += len(k) + len(v)
		}
		if size > l.MaxAnnotationsSize {
			c.fail("annotations are %d bytes in all, more than the limit of %d", size, l.MaxAnnotationsSize)
		}
	}
	if c.items("dependencies", len(md.Dependencies)) {
		for i, d := range md.Dependencies {
			if d == nil {
				continue
			}
			p := fmt.Sprintf("dependencies[%d].", i)
			c.field(p+"name", d.Name)
			c.field(p+"version", d.Version)
			c.field(p+"repository", d.Repository)
			c.field(p+"condition", d.Condition)
			c.field(p+"alias", d.Alias)
			c.list(p+"tags", d.Tags)
			if c.items(p+"import-values", len(d.ImportValues)) {
				for j, iv := range d.ImportValues {
					// Import values are strings or {child, parent} maps;
					// their JSON form is what the index stores.
					b, err := json.Marshal(iv)
					if err != nil || len(b) > l.MaxMetadataField {
						c.fail("%simport-values[%d] is more than %d bytes", p, j, l.MaxMetadataField)
					}
				}
			}
		}
	}
	return joinErrors(c.errs)
}

// metadataCheck collects the limit violations of one Chart.yaml.
type metadataCheck struct {
	lim  Limits
	errs []error
}

func (c *metadataCheck) fail(format string, a ...any) {
	c.errs = append(c.errs, errorf(ErrMetadataTooLarge, "chart.metadata."+format, a...))
}

func (c *metadataCheck) field(name, v string) {
	if len(v) > c.lim.MaxMetadataField {
		c.fail("%s is %d bytes, more than the limit of %d", name, len(v), c.lim.MaxMetadataField)
	}
}

// items checks a list's length and reports whether its elements are worth
// checking one by one.
func (c *metadataCheck) items(name string, n int) bool {
	if n > c.lim.MaxMetadataItems {
		c.fail("%s has %d entries, more than the limit of %d", name, n, c.lim.MaxMetadataItems)
		return false
	}
	return true
}

// list checks a list of strings, reporting only its first long element.
func (c *metadataCheck) list(name string, vs []string) {
	if !c.items(name, len(vs)) {
		return
	}
	for i, v := range vs {
		if len(v) > c.lim.MaxMetadataField {
			c.fail("%s[%d] is %d bytes, more than the limit of %d", name, i, len(v), c.lim.MaxMetadataField)
			return
		}
	}
}
