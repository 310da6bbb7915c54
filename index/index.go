// Package index is the chart repository index (index.yaml, and the JSON
// form Helm ≥ 3.13 also reads): its model, loading with Helm's rules, and
// rendering for a server that maintains the index incrementally.
//
// It mirrors Helm 3's pkg/repo IndexFile, field names included, and does no
// I/O of its own.
package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// APIVersionV1 is the only index apiVersion.
const APIVersionV1 = "v1"

var (
	// ErrEmptyIndex: the index has no bytes at all.
	ErrEmptyIndex = errors.New("empty index.yaml file")
	// ErrNoAPIVersion: the index has no apiVersion.
	ErrNoAPIVersion = errors.New("no API version specified")
	// ErrInvalidIndex: the bytes are neither valid JSON nor valid (strict)
	// YAML for an index.
	ErrInvalidIndex = errors.New("invalid index")
	// ErrNoChartName: Get found no chart of that name.
	ErrNoChartName = errors.New("no chart name found")
	// ErrNoChartVersion: Get found no version matching.
	ErrNoChartVersion = errors.New("no chart version found")
)

// ChartVersion is one version of a chart in the index: its Chart.yaml
// metadata inlined, plus where to download it.
type ChartVersion struct {
	*chart.Metadata
	URLs    []string  `json:"urls"`
	Created time.Time `json:"created,omitempty"`
	Removed bool      `json:"removed,omitempty"`
	Digest  string    `json:"digest,omitempty"`

	// Helm 2 fields, ignored but accepted: strict YAML loading would
	// otherwise reject old indexes that carry them.
	ChecksumDeprecated      string `json:"checksum,omitempty"`
	EngineDeprecated        string `json:"engine,omitempty"`
	TillerVersionDeprecated string `json:"tillerVersion,omitempty"`
	URLDeprecated           string `json:"url,omitempty"`
}

// ChartVersions are the versions of one chart, newest first once sorted.
type ChartVersions []*ChartVersion

// File is an index.yaml.
type File struct {
	APIVersion  string                   `json:"apiVersion"`
	Generated   time.Time                `json:"generated"`
	Entries     map[string]ChartVersions `json:"entries"`
	PublicKeys  []string                 `json:"publicKeys,omitempty"`
	Annotations map[string]string        `json:"annotations,omitempty"`
	// ServerInfo is ChartMuseum's extension (contextPath); Helm ignores it.
	ServerInfo map[string]interface{} `json:"serverInfo,omitempty"`
}

// New returns an empty index generated at the given time.
func New(generated time.Time) *File {
	return &File{
		APIVersion: APIVersionV1,
		Generated:  generated,
		Entries:    map[string]ChartVersions{},
	}
}

// Load parses an index like Helm ≥ 3.13: as JSON when the bytes are valid
// JSON, otherwise as strict YAML (an unknown field is an error). Entries
// Helm would skip (null, invalid metadata) are dropped, and versions are
// sorted newest first. An index without apiVersion is ErrNoAPIVersion.
func Load(data []byte) (*File, error) {
	return LoadWithLogger(data, nil)
}

// LoadWithLogger is Load, logging each skipped entry as Helm does; log may
// be nil.
func LoadWithLogger(data []byte, log *slog.Logger) (*File, error) {
	if len(data) == 0 {
		return nil, ErrEmptyIndex
	}
	f := new(File)
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, f)
	} else {
		err = yaml.UnmarshalStrict(data, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIndex, err)
	}
	if err := f.normalize(log); err != nil {
		return nil, err
	}
	return f, nil
}

// normalize applies Helm's loading rules to a decoded index: entries Helm
// would skip are dropped (see admit), versions are sorted newest first, and
// an index without apiVersion is ErrNoAPIVersion.
func (f *File) normalize(log *slog.Logger) error {
	if f.Entries == nil {
		f.Entries = map[string]ChartVersions{}
	}
	for name, cvs := range f.Entries {
		kept := cvs[:0]
		for _, cv := range cvs {
			if err := admit(cv); err != nil {
				version := ""
				if cv != nil {
					version = cv.Version
				}
				logSkip(log, name, version, err)
				continue
			}
			kept = append(kept, cv)
		}
		f.Entries[name] = kept
	}
	f.SortEntries()
	if f.APIVersion == "" {
		return ErrNoAPIVersion
	}
	return nil
}

// admit is Helm's rule for one entry of a loaded index: a null entry is
// skipped; missing metadata is empty metadata; apiVersion defaults to v1;
// and an entry whose metadata does not validate is skipped, unless the only
// problems are ones Helm tolerates. Validation also sanitizes the
// metadata's strings.
func admit(cv *ChartVersion) error {
	if cv == nil {
		return errors.New("empty entry")
	}
	if cv.Metadata == nil {
		cv.Metadata = &chart.Metadata{}
	}
	if cv.APIVersion == "" {
		cv.APIVersion = chart.APIVersionV1
	}
	if err := cv.Validate(); err != nil && !skippable(err) {
		return err
	}
	return nil
}

func logSkip(log *slog.Logger, name, version string, err error) {
	if log == nil {
		return
	}
	log.Warn("skipping invalid index entry", "chart", name, "version", version, "err", err)
}

// skippable reports validation problems Helm ignores in an index: some
// repositories (JFrog) strip dependency aliases, which makes duplicates.
func skippable(err error) bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ve chart.ValidationError
		if !errors.As(e, &ve) || !strings.HasPrefix(ve.Error(), "validation: more than one dependency with name or alias") {
			return false
		}
	}
	return true
}

// SortEntries sorts every chart's versions newest first (SemVer
// precedence); unparsable versions go last. The sort is stable, so equal
// versions (1.0.0 and 1.0.0+build) keep their order.
func (f *File) SortEntries() {
	for _, cvs := range f.Entries {
		sortVersions(cvs, func(cv *ChartVersion) string {
			if cv == nil || cv.Metadata == nil {
				return ""
			}
			return cv.Version
		})
	}
}

// sortVersions stably sorts s newest first, parsing each version once.
func sortVersions[T any](s []T, version func(T) string) {
	type item struct {
		v *semver.Version
		x T
	}
	items := make([]item, len(s))
	for i, x := range s {
		v, err := semver.NewVersion(version(x))
		if err != nil {
			v = nil
		}
		items[i] = item{v, x}
	}
	slices.SortStableFunc(items, func(a, b item) int { return compareDesc(a.v, b.v) })
	for i := range items {
		s[i] = items[i].x
	}
}

// compareDesc orders versions newest first, nil (unparsable) last.
func compareDesc(a, b *semver.Version) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return b.Compare(a)
}

// Has reports whether the index holds exactly that version of the chart.
func (f *File) Has(name, version string) bool {
	for _, cv := range f.Entries[name] {
		if cv.Version == version {
			return true
		}
	}
	return false
}

// Get returns a version of a chart like Helm: an exact version string match
// first, else the first (newest, once sorted) version satisfying version as
// a SemVer constraint; "" means the newest stable version.
func (f *File) Get(name, version string) (*ChartVersion, error) {
	cvs, ok := f.Entries[name]
	return get(name, version, cvs, ok, func(cv *ChartVersion) string { return cv.Version })
}

// Add adds a chart version, as helm repo index does: apiVersion defaults to
// v1, the metadata must be valid, and the URL is the file's base name joined
// to baseURL (or the file name as given when baseURL is empty). Adding does
// not sort.
func (f *File) Add(md *chart.Metadata, filename, baseURL, digest string, created time.Time) error {
	if f.Entries == nil {
		f.Entries = map[string]ChartVersions{}
	}
	if md.APIVersion == "" {
		md.APIVersion = chart.APIVersionV1
	}
	if err := md.Validate(); err != nil {
		return fmt.Errorf("validate failed for %s: %w", filename, err)
	}
	u := filename
	if baseURL != "" {
		u = joinURL(baseURL, path.Base(strings.ReplaceAll(filename, `\`, "/")))
	}
	f.Entries[md.Name] = append(f.Entries[md.Name], &ChartVersion{
		Metadata: md,
		URLs:     []string{u},
		Digest:   digest,
		Created:  created,
	})
	return nil
}

// joinURL joins a file name to a base URL's path; a base that does not
// parse as a URL is joined as a path, as Helm does.
func joinURL(base, file string) string {
	u, err := url.Parse(base)
	if err != nil {
		return path.Join(base, file)
	}
	u.Path = path.Join(u.Path, file)
	return u.String()
}

// Merge adds the versions of other that f does not have (by name and
// version); f's own records win. It does not sort.
func (f *File) Merge(other *File) {
	if f.Entries == nil {
		f.Entries = map[string]ChartVersions{}
	}
	for _, cvs := range other.Entries {
		for _, cv := range cvs {
			if cv == nil || cv.Metadata == nil || f.Has(cv.Name, cv.Version) {
				continue
			}
			f.Entries[cv.Name] = append(f.Entries[cv.Name], cv)
		}
	}
}
