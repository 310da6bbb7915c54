package intake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/chartd/chartd/internal/helmoci"
)

// MaxChartName is the longest chart name chartd accepts. Longer names
// change how YAML lays out index.yaml (as complex keys), so the index could
// not be built from per-version fragments; no real chart needs one.
const MaxChartName = 128

// The naming rule. Every chart is reachable through both protocols, so a
// name must be one both can carry: tenant paths, the repository paths below
// them and chart names are OCI repository names (the distribution spec's
// <name> grammar, checked by distribution's reference package), whose
// segments also never collide with chartd's own routes.
//
// Helm itself accepts any chart name without a path separator, including
// upper case and spaces; such a chart could have no OCI face (an OCI name
// is lower case), so it is refused through every protocol rather than
// served one way only.

// nameHost turns every component of a name into a path component when the
// reference grammar parses it: without it, a first component with a dot or
// a port ("Example.com", "localhost:5000") would parse as a registry host,
// whose rules differ.
const nameHost = "registry.invalid/"

// Reserved reports whether seg is a path segment chartd's own routes use,
// so that no tenant or repository path may contain it: /api/..., /v2/...,
// /charts/<file> and /<path>/index.yaml would otherwise mean two things.
func Reserved(seg string) bool { return slices.Contains(ReservedSegments(), seg) }

// ReservedSegments lists the segments Reserved refuses.
func ReservedSegments() []string {
	return []string{"api", "charts", "health", "info", "metrics", "ui", "v2",
		"index.yaml", "index.json", "signing-key.asc", "keys", "prov"}
}

// validComponent applies the reference grammar to one name component.
func validComponent(s string) bool {
	if s == "" || strings.Contains(s, "/") {
		return false
	}
	named, err := reference.WithName(nameHost + s)
	return err == nil && reference.Path(named) == s
}

const componentRule = "lower-case letters and digits, separated by '.', '_', '__' or dashes"

// CheckPath checks a tenant path or a repository path below one ("" is the
// root, at --depth=0): each segment is an OCI name component and none is
// reserved.
func CheckPath(path string) error {
	if path == "" {
		return nil
	}
	for _, seg := range strings.Split(path, "/") {
		if !validComponent(seg) {
			return fmt.Errorf("%w: repository path %q: segment %q is not a valid OCI name component (%s)", ErrInvalidName, path, seg, componentRule)
		}
		if Reserved(seg) {
			return fmt.Errorf("%w: repository path %q: %q is reserved for chartd's own routes (reserved: %s)",
				ErrInvalidName, path, seg, strings.Join(ReservedSegments(), ", "))
		}
	}
	return nil
}

// CheckChartName checks a chart name: one OCI name component of at most
// MaxChartName bytes.
func CheckChartName(name string) error {
	if len(name) > MaxChartName {
		return fmt.Errorf("%w: chart name is longer than %d bytes", ErrInvalidName, MaxChartName)
	}
	if !validComponent(name) {
		return fmt.Errorf("%w: chart name %q is not a valid OCI name component (%s), so the chart could not be served over OCI",
			ErrInvalidName, name, componentRule)
	}
	return nil
}

// CheckRepository checks the OCI repository of chart name below path: both
// parts, and the whole name's length.
func CheckRepository(path, name string) error {
	if err := CheckPath(path); err != nil {
		return err
	}
	if err := CheckChartName(name); err != nil {
		return err
	}
	full := name
	if path != "" {
		full = path + "/" + name
	}
	if len(full) > reference.RepositoryNameTotalLengthMax {
		return fmt.Errorf("%w: repository %q is longer than %d bytes", ErrInvalidName, full, reference.RepositoryNameTotalLengthMax)
	}
	return nil
}

// CheckVersion checks that a (SemVer) chart version has an OCI tag: its
// tag, '+' written as '_', must satisfy the tag grammar (at most 128
// characters).
func CheckVersion(version string) error {
	named, err := reference.WithName(nameHost + "x")
	if err == nil {
		_, err = reference.WithTag(named, helmoci.Tag(version))
	}
	if err != nil {
		return fmt.Errorf("%w: version %q has no valid OCI tag: %v", ErrInvalidVersion, version, err)
	}
	return nil
}
