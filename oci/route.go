package oci

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// routeKind is what a /v2/ request path addresses.
type routeKind int

const (
	routeNone      routeKind = iota
	routeBase                // /v2/
	routeCatalog             // /v2/_catalog
	routeManifest            // /v2/<name>/manifests/<reference>
	routeBlob                // /v2/<name>/blobs/<digest>
	routeUploads             // /v2/<name>/blobs/uploads/
	routeUpload              // /v2/<name>/blobs/uploads/<id>
	routeTags                // /v2/<name>/tags/list
	routeReferrers           // /v2/<name>/referrers/<digest>
)

func (k routeKind) String() string {
	switch k {
	case routeBase:
		return "base"
	case routeCatalog:
		return "catalog"
	case routeManifest:
		return "manifest"
	case routeBlob:
		return "blob"
	case routeUploads:
		return "uploads"
	case routeUpload:
		return "upload"
	case routeTags:
		return "tags"
	case routeReferrers:
		return "referrers"
	}
	return "none"
}

// route is a parsed /v2/ request path.
type route struct {
	kind routeKind
	name string // repository name (not for base and catalog)
	// ref is the manifest reference: a tag, or a digest (then digest is set too).
	ref    string
	digest digest.Digest // blob, referrers, or a manifest reference that is a digest
	upload string        // upload session ID
	// badTag is set when ref is neither a digest nor a valid tag. Such a
	// reference cannot name anything: a push of it is a bad request, a pull
	// or delete finds nothing (404, as distribution answers, whose router
	// does not match it).
	badTag bool
}

// tagError is the error of a manifest route whose reference is no valid tag.
func (rt route) tagError() error {
	if !rt.badTag {
		return nil
	}
	return fmt.Errorf("%w: %q", errTagInvalid, rt.ref)
}

// Route parse errors; each maps to a distinct answer (see errorRules).
var (
	errNoRoute       = errors.New("no such route")
	errNameInvalid   = errors.New("invalid repository name")
	errDigestInvalid = errors.New("invalid digest")
	errTagInvalid    = errors.New("invalid tag")
)

// tagRegexp is the distribution spec's <tag-or-digest> rule for tags.
var tagRegexp = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// uploadIDRegexp bounds upload IDs to what the blob store accepts in a key,
// so a forged ID is refused before it reaches the database or the bucket.
var uploadIDRegexp = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

// parseRoute splits a request path into a route. Repository names contain
// slashes, so a route is recognised by its suffix: the keyword segments
// ("manifests", "blobs", "tags", "referrers") nearest the end win, and what
// precedes them is the name, which must satisfy the reference grammar.
func parseRoute(path string) (route, error) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		if path == "/v2" {
			return route{kind: routeBase}, nil
		}
		return route{}, errNoRoute
	}
	switch rest {
	case "":
		return route{kind: routeBase}, nil
	case "_catalog":
		return route{kind: routeCatalog}, nil
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	var (
		rt   route
		tail int // how many trailing segments belong to the route, not the name
	)
	switch {
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads" && segs[n-1] == "":
		// POST /v2/<name>/blobs/uploads/ (the trailing slash is the spec's form).
		rt, tail = route{kind: routeUploads}, 3
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		rt, tail = route{kind: routeUploads}, 2
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		if !uploadIDRegexp.MatchString(segs[n-1]) {
			return route{}, fmt.Errorf("%w: upload id %q", errNoRoute, segs[n-1])
		}
		rt, tail = route{kind: routeUpload, upload: segs[n-1]}, 3
	case n >= 3 && segs[n-2] == "blobs":
		d, err := parseDigest(segs[n-1])
		if err != nil {
			return route{}, err
		}
		rt, tail = route{kind: routeBlob, digest: d}, 2
	case n >= 3 && segs[n-2] == "manifests":
		ref := segs[n-1]
		rt, tail = route{kind: routeManifest, ref: ref}, 2
		if strings.Contains(ref, ":") {
			d, err := parseDigest(ref)
			if err != nil {
				return route{}, err
			}
			rt.digest = d
		} else if !tagRegexp.MatchString(ref) {
			rt.badTag = true
		}
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		rt, tail = route{kind: routeTags}, 2
	case n >= 3 && segs[n-2] == "referrers":
		d, err := parseDigest(segs[n-1])
		if err != nil {
			return route{}, err
		}
		rt, tail = route{kind: routeReferrers, digest: d}, 2
	default:
		return route{}, errNoRoute
	}
	name := strings.Join(segs[:n-tail], "/")
	if err := validateName(name); err != nil {
		return route{}, err
	}
	rt.name = name
	return rt, nil
}

// validateName applies the reference grammar to a repository name. The
// grammar lets a name's first component be a registry host ("localhost:5000",
// "Example.com"); prefixing a fixed host makes every component of name a path
// component, which is exactly the spec's <name> rule, length limit included.
func validateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", errNameInvalid)
	}
	named, err := reference.WithName("registry.invalid/" + name)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", errNameInvalid, name, err)
	}
	if reference.Path(named) != name {
		return fmt.Errorf("%w: %q", errNameInvalid, name)
	}
	return nil
}

// parseDigest accepts the digests the store can hold: sha256 and sha512.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", errDigestInvalid, s, err)
	}
	switch d.Algorithm() {
	case digest.SHA256, digest.SHA512:
		return d, nil
	}
	return "", fmt.Errorf("%w: unsupported algorithm %q", errDigestInvalid, d.Algorithm())
}

// path renders the route back into its request path (the inverse of parseRoute).
func (rt route) path() string {
	switch rt.kind {
	case routeBase:
		return "/v2/"
	case routeCatalog:
		return "/v2/_catalog"
	case routeManifest:
		return "/v2/" + rt.name + "/manifests/" + rt.ref
	case routeBlob:
		return "/v2/" + rt.name + "/blobs/" + rt.digest.String()
	case routeUploads:
		return "/v2/" + rt.name + "/blobs/uploads/"
	case routeUpload:
		return "/v2/" + rt.name + "/blobs/uploads/" + rt.upload
	case routeTags:
		return "/v2/" + rt.name + "/tags/list"
	case routeReferrers:
		return "/v2/" + rt.name + "/referrers/" + rt.digest.String()
	}
	return ""
}
