package index

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/Masterminds/semver/v3"
)

// Summary is the part of an index entry that a client needs to search a
// repository and download a chart: what `helm search` prints and where the
// archive is. Keeping only these fields is what makes a client's parsed
// cache of a big index small.
type Summary struct {
	Name        string
	Version     string
	AppVersion  string
	Description string
	Keywords    []string
	URLs        []string
	Digest      string
	Deprecated  bool
}

// Compact is an index reduced to Summaries. It holds exactly the versions
// that Load keeps, in the same order, with the same (sanitized) values:
// LoadCompact(b) is Load(b).Compact(), only faster.
type Compact struct {
	APIVersion string
	// Entries maps a chart name to its versions, newest first. A chart
	// listed without versions maps to nil.
	Entries map[string][]*Summary
	// ContextPath is serverInfo.contextPath, ChartMuseum's extension that
	// tells a client where the API lives.
	ContextPath string
}

// Compact returns f reduced to Summaries.
func (f *File) Compact() *Compact {
	c := &Compact{APIVersion: f.APIVersion, Entries: make(map[string][]*Summary, len(f.Entries))}
	if s, ok := f.ServerInfo["contextPath"].(string); ok {
		c.ContextPath = s
	}
	for name, cvs := range f.Entries {
		var out []*Summary
		if len(cvs) > 0 {
			// One allocation per chart rather than per version.
			buf := make([]Summary, len(cvs))
			out = make([]*Summary, len(cvs))
			for i, cv := range cvs {
				buf[i] = Summary{
					Name: cv.Name, Version: cv.Version, AppVersion: cv.AppVersion, Description: cv.Description,
					Keywords: cv.Keywords, URLs: cv.URLs, Digest: cv.Digest, Deprecated: cv.Deprecated,
				}
				out[i] = &buf[i]
			}
		}
		c.Entries[name] = out
	}
	return c
}

// LoadCompact is Load(data).Compact(), only faster: both accept the same
// indexes, with the same errors, and keep the same versions with the same
// values, since they apply the same rules (admit) to the same fields. JSON
// is decoded into mirrors of the model that keep only what a Summary needs
// (loadCompactJSON). YAML in the block layout that Helm, ChartMuseum and
// chartd write is decoded by a parser that reads only what a Summary and
// the validation need, many times faster and lighter than the general YAML
// decoder; anything that parser is not sure to read exactly as Load does
// (see decodeCompact) goes through Load itself.
func LoadCompact(data []byte) (*Compact, error) {
	return LoadCompactWithLogger(data, nil)
}

// LoadCompactWithLogger is LoadCompact, logging each skipped entry as Load
// does; log may be nil.
func LoadCompactWithLogger(data []byte, log *slog.Logger) (*Compact, error) {
	switch {
	case len(data) == 0:
	case json.Valid(data):
		return loadCompactJSON(data, log)
	default:
		if c, err := decodeCompact(data, log); err != errNotFast {
			return c, err
		}
	}
	f, err := LoadWithLogger(data, log)
	if err != nil {
		return nil, err
	}
	return f.Compact(), nil
}

// Names returns the chart names, sorted.
func (c *Compact) Names() []string {
	names := make([]string, 0, len(c.Entries))
	for n := range c.Entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns a version of a chart with File.Get's rules.
func (c *Compact) Get(name, version string) (*Summary, error) {
	svs, ok := c.Entries[name]
	return get(name, version, svs, ok, func(s *Summary) string { return s.Version })
}

// get is Helm's IndexFile.Get over any representation of a chart's
// versions (sorted newest first): an exact version string match first, else
// the first version satisfying version as a SemVer constraint; "" means the
// newest stable version. The errors are Helm's, word for word, since the
// client prints them.
func get[T any](name, version string, vs []T, ok bool, versionOf func(T) string) (T, error) {
	var zero T
	if !ok {
		return zero, ErrNoChartName
	}
	if len(vs) == 0 {
		return zero, ErrNoChartVersion
	}
	constraint := "*"
	if version != "" {
		constraint = version
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return zero, err
	}
	if version != "" {
		for _, v := range vs {
			if versionOf(v) == version {
				return v, nil
			}
		}
	}
	for _, v := range vs {
		sv, err := semver.NewVersion(versionOf(v))
		if err == nil && c.Check(sv) {
			return v, nil
		}
	}
	return zero, fmt.Errorf("%w for %s-%s", ErrNoChartVersion, name, version)
}
