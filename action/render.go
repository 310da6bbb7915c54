package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/postrender"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// capabilities are the cluster's, for .Capabilities; nil for a client-side
// dry run (render then uses helm template's defaults).
func (c *Configuration) capabilities(ctx context.Context) (*engine.Capabilities, error) {
	if c.Kube == nil {
		return nil, nil
	}
	v, err := c.Kube.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("could not get server version from Kubernetes: %w", err)
	}
	apis, err := c.Kube.APIVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("could not get apiVersions from Kubernetes: %w", err)
	}
	caps := engine.DefaultCapabilities().Copy()
	caps.KubeVersion = engine.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor}
	caps.APIVersions = engine.VersionSet(apis)
	return caps, nil
}

// RenderOptions are the rendering flags install and upgrade share.
type RenderOptions struct {
	SkipSchemaValidation bool
	// SubNotes adds subcharts' NOTES.txt to the notes.
	SubNotes  bool
	EnableDNS bool
	// HideSecret leaves Secrets out of the manifest (dry runs only).
	HideSecret bool
	// Coalesce receives the values conflicts Helm logs; nil drops them.
	Coalesce values.WarnFunc
	// SkippedHook receives the annotations of unknown hooks Helm logs.
	SkippedHook func(hookTypes string)
	// PostRenderer, when set, rewrites the manifest before it is stored
	// and applied (--post-renderer).
	PostRenderer postrender.Renderer
	// IncludeCRDs puts the crds/ files at the head of the manifest.
	IncludeCRDs bool
	// IsUpgrade sets .Release.IsUpgrade (helm template --is-upgrade).
	IsUpgrade bool
	// KubeVersion and APIVersions stand in for the cluster's in a
	// client-side dry run (helm template); with a cluster, as in Helm,
	// they are ignored.
	KubeVersion *engine.KubeVersion
	APIVersions []string
}

// ErrHideSecret: --hide-secret without a dry run.
var ErrHideSecret = errors.New("Hiding Kubernetes secrets requires a dry-run mode") //nolint:staticcheck // Helm's message

// renderRelease renders ch into a new revision of name.
func (c *Configuration) renderRelease(ctx context.Context, ch *chart.Chart, vals values.Values, name, namespace string, revision int, upgrade bool, caps *engine.Capabilities, ro RenderOptions) (*release.Release, *render.Result, error) {
	opt := render.Options{
		ReleaseName: name, Namespace: namespace, Revision: revision, IsUpgrade: upgrade || ro.IsUpgrade,
		Capabilities: caps, SkipSchemaValidation: ro.SkipSchemaValidation, SubNotes: ro.SubNotes, EnableDNS: ro.EnableDNS,
		Coalesce: ro.Coalesce, SkippedHook: ro.SkippedHook,
	}
	if caps == nil {
		opt.KubeVersion, opt.APIVersions = ro.KubeVersion, ro.APIVersions
	}
	// lookup reads the cluster, except in a client-side dry run (no cluster).
	if c.Kube != nil {
		opt.Lookup = c.Kube
	}
	res, err := render.Template(ctx, ch, vals, opt)
	if err != nil {
		// The partial rendering comes back for helm template --debug.
		return nil, res, err
	}
	if ro.PostRenderer != nil {
		if err := res.PostRender(ctx, ro.PostRenderer, render.PrintOptions{HideSecret: ro.HideSecret}); err != nil {
			return nil, nil, err
		}
	}
	now := release.Now()
	r := &release.Release{
		Name: name, Namespace: namespace, Version: revision, Chart: res.Chart, Config: vals,
		Manifest: res.ManifestText(ro.IncludeCRDs, ro.HideSecret),
		Info:     &release.Info{FirstDeployed: now, LastDeployed: now, Notes: res.Notes},
		// This client applies client-side; recording it lets Helm 4's
		// --server-side=auto keep doing so.
		ApplyMethod: release.ApplyClientSide,
	}
	for _, h := range res.Hooks {
		r.Hooks = append(r.Hooks, &release.Hook{
			Name: h.Name, Kind: h.Kind, Path: h.Path, Manifest: h.Manifest, Events: h.Events,
			Weight: h.Weight, DeletePolicies: h.DeletePolicies, OutputLogPolicies: h.OutputLogPolicies,
		})
	}
	return r, res, nil
}

// crdManifests joins the chart's crds/ files into one stream.
func crdManifests(res *render.Result) string {
	var b strings.Builder
	for _, c := range res.CRDs {
		fmt.Fprintf(&b, "---\n%s\n", c.Data)
	}
	return b.String()
}
