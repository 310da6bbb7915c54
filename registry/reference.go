// Package registry is the OCI side of the helm client: Helm's chart layout on
// top of oras-go/v2, Docker-style credentials, login and logout.
package registry

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	orasregistry "oras.land/oras-go/v2/registry"

	"github.com/chartd/chartd/internal/helmoci"
)

// Scheme prefixes an OCI chart reference on the command line.
const Scheme = "oci://"

// Sentinel errors.
var (
	ErrInvalidReference = errors.New("invalid OCI reference")
	ErrNoMatchingTag    = errors.New("no matching tag")
)

// IsOCI reports whether ref is an oci:// reference.
func IsOCI(ref string) bool { return strings.HasPrefix(ref, Scheme) }

// Reference is a parsed chart reference: host[:port]/repository[:tag|@digest].
type Reference struct {
	Registry   string
	Repository string
	Tag        string
	Digest     string
}

// ParseReference parses "oci://host/path/name[:tag][@digest]" (the scheme
// is optional). A "+" in the tag is accepted and turned into "_", as Helm does
// because OCI tags cannot hold "+".
func ParseReference(raw string) (Reference, error) {
	s := strings.TrimPrefix(raw, Scheme)
	if s == "" || strings.Contains(s, "://") {
		return Reference{}, fmt.Errorf("%w: %q", ErrInvalidReference, raw)
	}
	var digest string
	if i := strings.Index(s, "@"); i >= 0 {
		s, digest = s[:i], s[i+1:]
	}
	var tag string
	if slash := strings.LastIndex(s, "/"); slash >= 0 {
		if c := strings.LastIndex(s[slash:], ":"); c >= 0 {
			tag = s[slash+c+1:]
			s = s[:slash+c]
		}
	}
	tag = helmoci.Tag(tag)
	full := s
	switch {
	case digest != "":
		full += "@" + digest
	case tag != "":
		full += ":" + tag
	}
	r, err := orasregistry.ParseReference(full)
	if err != nil {
		return Reference{}, &referenceError{err}
	}
	if err := r.ValidateRepository(); err != nil {
		return Reference{}, &referenceError{err}
	}
	return Reference{Registry: r.Registry, Repository: r.Repository, Tag: tag, Digest: digest}, nil
}

// referenceError is an ErrInvalidReference worded as oras-go words it
// ("invalid reference: invalid repository ..."), which is what Helm prints.
type referenceError struct{ err error }

func (e *referenceError) Error() string        { return e.err.Error() }
func (e *referenceError) Unwrap() error        { return e.err }
func (e *referenceError) Is(target error) bool { return target == ErrInvalidReference }

// Repo is "host/repository".
func (r Reference) Repo() string { return r.Registry + "/" + r.Repository }

// String is the reference without scheme, digest preferred over tag.
func (r Reference) String() string {
	switch {
	case r.Digest != "" && r.Tag != "":
		return r.Repo() + ":" + r.Tag + "@" + r.Digest
	case r.Digest != "":
		return r.Repo() + "@" + r.Digest
	case r.Tag != "":
		return r.Repo() + ":" + r.Tag
	}
	return r.Repo()
}

// target is the oras reference to resolve: the digest if present, else the tag.
func (r Reference) target() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// TagToVersion maps an OCI tag back to a chart version ("_" → "+").
func TagToVersion(tag string) string { return helmoci.Version(tag) }

// VersionToTag maps a chart version to an OCI tag ("+" → "_").
func VersionToTag(v string) string { return helmoci.Tag(v) }

// SemverTags maps tags to versions, keeps the strict semantic versions and
// sorts them newest first, as Helm lists a chart's versions.
func SemverTags(tags []string) []string {
	type tv struct {
		s string
		v *semver.Version
	}
	var vs []tv
	for _, t := range tags {
		s := TagToVersion(t)
		v, err := semver.StrictNewVersion(s)
		if err != nil {
			continue
		}
		vs = append(vs, tv{s, v})
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].v.GreaterThan(vs[j].v) })
	out := make([]string, len(vs))
	for i := range vs {
		out[i] = vs[i].s
	}
	return out
}

// MatchVersion picks from versions (newest first) the exact match of want,
// else the first satisfying it as a constraint ("" means "*", the newest
// stable version).
func MatchVersion(versions []string, want string) (string, error) {
	if want != "" {
		for _, v := range versions {
			if v == want {
				return v, nil
			}
		}
	}
	cs := want
	if cs == "" {
		cs = "*"
	}
	c, err := semver.NewConstraint(cs)
	if err != nil {
		return "", fmt.Errorf("improper constraint %q: %w", want, err)
	}
	for _, v := range versions {
		if sv, err := semver.NewVersion(v); err == nil && c.Check(sv) {
			return v, nil
		}
	}
	return "", fmt.Errorf("could not locate a version matching provided version string %s: %w", want, ErrNoMatchingTag)
}
