package chart

import (
	"errors"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
)

// ParseMetadata parses Chart.yaml as Helm does: sigs.k8s.io/yaml, unknown
// fields ignored, a UTF-8 byte order mark tolerated. It neither defaults nor
// validates; loaders default apiVersion to v1 (Helm 2 charts) and then call
// Validate. Unlike Helm it refuses, as ErrMetadataTooLarge, a Chart.yaml
// larger than DefaultMaxChartfileSize, before or after alias expansion.
func ParseMetadata(data []byte) (*Metadata, error) {
	return parseMetadata(data, Limits{}.withDefaults())
}

// parseMetadata is ParseMetadata with lim's MaxChartfileSize.
func parseMetadata(data []byte, lim Limits) (*Metadata, error) {
	if err := checkChartfileSize(ChartfileName, data, lim); err != nil {
		return nil, err
	}
	md := new(Metadata)
	if err := unmarshalYAML(trimBOM(data), md, lim.MaxChartfileSize, ErrMetadataTooLarge); err != nil {
		return nil, loadError(ChartfileName, err)
	}
	return md, nil
}

// checkChartfileSize bounds a file that becomes metadata (Chart.yaml,
// requirements.yaml).
func checkChartfileSize(name string, data []byte, lim Limits) error {
	if int64(len(data)) > lim.MaxChartfileSize {
		return errorf(ErrMetadataTooLarge, "%s is %d bytes, more than the limit of %d", name, len(data), lim.MaxChartfileSize)
	}
	return nil
}

// Validate checks Chart.yaml with Helm 3's rules and messages. Like Helm it
// sanitizes free-text fields in place first (whitespace becomes a space,
// non-printable runes are dropped), which matters for packaging: Helm writes
// the sanitized metadata into the archive, and so do we.
//
// Unlike Helm, which stops at the first problem, it reports every problem
// (errors.Join) in Helm's order, so the first line is Helm's message. Every
// problem is a ValidationError and so an ErrInvalidChart.
func (md *Metadata) Validate() error {
	if md == nil {
		return ValidationError("chart.metadata is required")
	}
	md.Name = sanitizeString(md.Name)
	md.Description = sanitizeString(md.Description)
	md.Home = sanitizeString(md.Home)
	md.Icon = sanitizeString(md.Icon)
	md.Condition = sanitizeString(md.Condition)
	md.Tags = sanitizeString(md.Tags)
	md.AppVersion = sanitizeString(md.AppVersion)
	md.KubeVersion = sanitizeString(md.KubeVersion)
	sanitizeAll(md.Sources)
	sanitizeAll(md.Keywords)

	var errs []error
	if md.APIVersion == "" {
		errs = append(errs, ValidationError("chart.metadata.apiVersion is required"))
	}
	switch {
	case md.Name == "":
		errs = append(errs, ValidationError("chart.metadata.name is required"))
	case md.Name == "." || md.Name == "..":
		errs = append(errs, validationErrorf("chart.metadata.name %q is not allowed", md.Name))
	case md.Name != filepath.Base(md.Name) || strings.ContainsAny(md.Name, `/\`):
		// filepath.Base is Helm's test; the explicit separators make the
		// result the same on every OS, since a server must not let a name
		// pick a storage path.
		errs = append(errs, validationErrorf("chart.metadata.name %q is invalid", md.Name))
	}
	switch {
	case md.Version == "":
		errs = append(errs, ValidationError("chart.metadata.version is required"))
	case !isValidSemver(md.Version):
		errs = append(errs, validationErrorf("chart.metadata.version %q is invalid", md.Version))
	}
	if !isValidChartType(md.Type) {
		errs = append(errs, ValidationError("chart.metadata.type must be application or library"))
	}
	for _, m := range md.Maintainers {
		if err := m.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	// A dependency is addressed by its alias when it has one; two with the
	// same key would overwrite each other's values.
	seen := make(map[string]bool, len(md.Dependencies))
	for _, d := range md.Dependencies {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		if seen[key] {
			errs = append(errs, validationErrorf("more than one dependency with name or alias %q", key))
		}
		seen[key] = true
	}
	return joinErrors(errs)
}

// Validate sanitizes a maintainer; a null list item is an error.
func (m *Maintainer) Validate() error {
	if m == nil {
		return ValidationError("maintainers must not contain empty or null nodes")
	}
	m.Name = sanitizeString(m.Name)
	m.Email = sanitizeString(m.Email)
	m.URL = sanitizeString(m.URL)
	return nil
}

// Validate sanitizes a dependency and checks its alias, which becomes a
// values key and a template path component.
func (d *Dependency) Validate() error {
	if d == nil {
		return ValidationError("dependencies must not contain empty or null nodes")
	}
	d.Name = sanitizeString(d.Name)
	d.Version = sanitizeString(d.Version)
	d.Repository = sanitizeString(d.Repository)
	d.Condition = sanitizeString(d.Condition)
	sanitizeAll(d.Tags)
	if d.Alias != "" && !isAliasName(d.Alias) {
		return validationErrorf("dependency %q has disallowed characters in the alias", d.Name)
	}
	return nil
}

// joinErrors is errors.Join that keeps a single error as it is, so callers
// can still errors.As it to a ValidationError and read Helm's exact text.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func isValidChartType(t string) bool {
	return t == "" || t == "application" || t == "library"
}

// isValidSemver is Helm's test: Masterminds' NewVersion, which also accepts
// "1.2" and "v1.2.3" (helm package and the loaders accept those too).
func isValidSemver(v string) bool {
	_, err := semver.NewVersion(v)
	return err == nil
}

// isAliasName reports whether s matches ^[a-zA-Z0-9_-]+$.
func isAliasName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// sanitizeString turns whitespace into spaces and drops non-printable runes,
// so a Chart.yaml cannot smuggle control sequences into terminals or logs.
func sanitizeString(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

func sanitizeAll(ss []string) {
	for i := range ss {
		ss[i] = sanitizeString(ss[i])
	}
}

// trimBOM drops a UTF-8 byte order mark, as Helm's loaders do for every file.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}
