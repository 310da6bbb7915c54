package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
)

// config is the action configuration template's install runs with: no
// cluster for a client-side dry run (a template needs no kubeconfig), the
// cluster of the global flags for --validate, which is a server dry run as
// in Helm.
func (a *Template) config() (*action.Configuration, string, error) {
	if !a.Validate {
		return &action.Configuration{Namespace: a.Env.Settings.NamespaceOrDefault(), Logger: a.Env.Logger}, action.DryRunClient, nil
	}
	cfg, err := actionConfig(a.Env)
	if err != nil {
		return nil, "", err
	}
	return cfg, action.DryRunServer, nil
}

// loadWithDependencies loads the chart at p; when dependencies it declares
// are missing from charts/ it fails with Helm's advice, or, with
// --dependency-update, fetches them (printing what `helm dependency update`
// prints, on stdout as Helm does) and loads the chart again.
func (a *Template) loadWithDependencies(ctx context.Context, out io.Writer, p string) (*chart.Chart, error) {
	return loadChartDependencies(ctx, a.Env, out, &a.ChartPathOptions, p, a.Install.dependencyUpdate)
}

// loadChartDependencies is what install, upgrade and template do with
// --dependency-update: load, and fetch missing dependencies when asked.
func loadChartDependencies(ctx context.Context, env *Env, out io.Writer, opts *ChartPathOptions, p string, update bool) (*chart.Chart, error) {
	ch, err := chart.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	missing := render.MissingDependencies(ch)
	if missing == nil {
		return ch, nil
	}
	if !update {
		return nil, missing
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		// Helm's manager cannot write into an archive either.
		return nil, fmt.Errorf("chart %s is not a directory: its dependencies cannot be updated", p)
	}
	du := &DependencyUpdate{Env: env, ChartPath: p, Keyring: opts.Keyring, ChartPathOptions: *opts}
	if err := du.Run(ctx, out); err != nil {
		return nil, err
	}
	ch, err = chart.Load(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("failed reloading chart after repo update: %w", err)
	}
	return ch, nil
}

// checkInstallable refuses library charts before the release name is
// checked, in Helm's order.
func checkInstallable(ch *chart.Chart) error {
	switch t := ch.Metadata.Type; t {
	case "", "application":
		return nil
	default:
		return fmt.Errorf("%s %w", t, render.ErrNotInstallable)
	}
}

// debugManifest is what Helm's template --debug prints for a failed render:
// when the output is not valid YAML, every rendered template that is not
// blank, as "---\n# Source: <name>\n<content>\n" (Helm writes them in map
// order; ours are sorted); otherwise nothing.
func debugManifest(res *render.Result) string {
	if res == nil || res.Manifests != nil || res.Hooks != nil {
		return ""
	}
	names := make([]string, 0, len(res.Files))
	for n := range res.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if strings.TrimSpace(res.Files[n]) == "" {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", n, res.Files[n])
	}
	return b.String()
}
