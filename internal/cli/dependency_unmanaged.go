package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// refreshUnmanaged fetches the indexes of the dependency repositories that
// are not in repositories.yaml, and reports them by URL, as Helm's
// dependency update does before it updates the configured ones. (The
// resolution reads them again, as Helm does too.)
func (a *DependencyUpdate) refreshUnmanaged(ctx context.Context, out io.Writer, deps []*chart.Dependency) {
	if a.SkipUpdate {
		return
	}
	f, _ := repo.LoadFile(a.Env.Settings.RepositoryConfig)
	var urls []string
	seen := map[string]bool{}
	for _, d := range deps {
		r := d.Repository
		if r == "" || strings.HasPrefix(r, "file://") || strings.HasPrefix(r, "@") || strings.HasPrefix(r, "alias:") || registry.IsOCI(r) {
			continue
		}
		if repoFor(f, r) != nil || seen[r] {
			continue
		}
		seen[r] = true
		urls = append(urls, r)
	}
	if len(urls) == 0 {
		return
	}
	fmt.Fprintln(out, "Getting updates for unmanaged Helm repositories...")
	for _, u := range urls {
		g, err := newGetter(a.Env, repo.HTTPOptions{URL: u})
		var idx *index.Compact
		if err == nil {
			idx, err = g.FetchIndex(ctx, u)
		}
		if err != nil {
			fmt.Fprintf(out, "...Unable to get an update from the %q chart repository:\n\t%s\n", u, err)
			continue
		}
		if a.unmanaged == nil {
			a.unmanaged = map[string]*index.Compact{}
		}
		a.unmanaged[u] = idx
		fmt.Fprintf(out, "...Successfully got an update from the %q chart repository\n", u)
	}
}

// unmanagedCreds are the options for downloading chartURL from repository
// e: e's own, or, for a repository that is not configured, those of the
// configured repository the URL lies in, as Helm looks them up.
func unmanagedCreds(env *Env, e *repo.Entry, chartURL string) repo.HTTPOptions {
	opts := repo.OptionsFor(e)
	if e.Name != "" {
		return opts
	}
	if f, _ := repo.LoadFile(env.Settings.RepositoryConfig); f != nil {
		for _, c := range f.Repositories {
			if c.URL != "" && strings.HasPrefix(chartURL, c.URL) {
				return mergeRepoCreds(opts, c)
			}
		}
	}
	return opts
}
