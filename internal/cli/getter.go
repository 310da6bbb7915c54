package cli

import (
	"context"
	"fmt"
	"net/url"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/plugin"
	"github.com/chartd/chartd/repo"
)

// getter fetches http(s) URLs itself and any other scheme through the
// downloader plugin that declares it, as Helm's getters do (built-in
// schemes first, then plugins in the order they are listed).
type getter struct {
	*repo.Getter
	env  *Env
	opts repo.HTTPOptions
}

func newGetter(env *Env, opts repo.HTTPOptions) (*getter, error) {
	g, err := repo.NewGetter(opts)
	if err != nil {
		return nil, err
	}
	return &getter{Getter: g, env: env, opts: opts}, nil
}

// openerFor is the repo.Opener of the repository cache.
func openerFor(env *Env) repo.Opener {
	return func(o repo.HTTPOptions) (repo.Fetcher, error) { return newGetter(env, o) }
}

// GetConditional implements repo.Fetcher.
func (g *getter) GetConditional(ctx context.Context, href, accept, etag string) ([]byte, string, bool, error) {
	u, err := url.Parse(href)
	if err != nil || u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https" {
		return g.Getter.GetConditional(ctx, href, accept, etag)
	}
	for _, p := range quietPlugins(g.env) {
		if d := p.Downloader(u.Scheme); d != nil {
			data, err := pluginRunner(g.env).Get(ctx, p, d, href, plugin.GetOptions{
				CertFile: g.opts.CertFile, KeyFile: g.opts.KeyFile, CAFile: g.opts.CAFile,
				Username: g.opts.Username, Password: g.opts.Password, PassCredentialsAll: g.opts.PassCredentialsAll,
			})
			return data, "", false, err
		}
	}
	return nil, "", false, fmt.Errorf("scheme %q not supported", u.Scheme)
}

// checkRepoScheme refuses a repository URL no getter serves, with the
// message of Helm's repo add.
func checkRepoScheme(env *Env, repoURL string) error {
	u, err := url.Parse(repoURL)
	if err != nil || u.Scheme == "http" || u.Scheme == "https" {
		return nil // the download reports it
	}
	for _, p := range quietPlugins(env) {
		if p.Downloader(u.Scheme) != nil {
			return nil
		}
	}
	return fmt.Errorf("could not find protocol handler for: %s", u.Scheme)
}

// Get fetches href.
func (g *getter) Get(ctx context.Context, href string) ([]byte, error) {
	return g.GetWithAccept(ctx, href, "")
}

// GetWithAccept fetches href with an Accept header (ignored by plugins).
func (g *getter) GetWithAccept(ctx context.Context, href, accept string) ([]byte, error) {
	b, _, _, err := g.GetConditional(ctx, href, accept, "")
	return b, err
}

// FetchIndex downloads and parses a repository's index.
func (g *getter) FetchIndex(ctx context.Context, repoURL string) (*index.Compact, error) {
	return repo.FetchIndexWith(ctx, g, repoURL)
}
