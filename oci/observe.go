package oci

// RouteInfo describes a registry request for the server's access log,
// metrics and audit lines, without the server parsing /v2/ paths itself.
type RouteInfo struct {
	// Kind is one of a fixed set: "base", "catalog", "manifest", "blob",
	// "upload", "tags", "referrers"; "" when the path is no registry route.
	Kind string
	// Name is the repository; Reference a manifest's tag or digest; Digest
	// a blob's (or a manifest reference that is a digest).
	Name, Reference, Digest string
}

// Describe parses a request path as the registry does.
func Describe(path string) RouteInfo {
	rt, err := parseRoute(path)
	if err != nil {
		return RouteInfo{}
	}
	kind := rt.kind.String()
	if rt.kind == routeUploads {
		kind = routeUpload.String()
	}
	return RouteInfo{Kind: kind, Name: rt.name, Reference: rt.ref, Digest: rt.digest.String()}
}
