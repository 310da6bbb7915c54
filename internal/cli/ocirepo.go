package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/helmpath"
	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// OCI namespaces as repositories. Real Helm refuses `repo add NAME
// oci://...` (helm#11000); ours lists the namespace (through chartd's
// search API, or _catalog and tags/list elsewhere) into an index in the
// repository cache, so `search repo` and `pull NAME/CHART` work on it as on
// any repository. The entries live in repo.OCIFilePath, beside
// repositories.yaml, where real Helm's `repo list|update` never trip on
// them.

// repoFiles are the two files of configured repositories.
type repoFiles struct {
	http, oci         *repo.File
	httpPath, ociPath string
}

// loadRepoFiles reads both files; a missing one is empty.
func loadRepoFiles(s *helmpath.Settings) (*repoFiles, error) {
	rf := &repoFiles{httpPath: s.RepositoryConfig, ociPath: repo.OCIFilePath(s.RepositoryConfig)}
	var err error
	if rf.http, err = repo.LoadFile(rf.httpPath); err != nil && !repo.IsNotExist(err) {
		return nil, err
	}
	if rf.oci, err = repo.LoadFile(rf.ociPath); err != nil && !repo.IsNotExist(err) {
		return nil, err
	}
	return rf, nil
}

// all lists every repository, repositories.yaml's first.
func (rf *repoFiles) all() []*repo.Entry {
	return append(append([]*repo.Entry{}, rf.http.Repositories...), rf.oci.Repositories...)
}

// get finds a repository in either file.
func (rf *repoFiles) get(name string) *repo.Entry {
	if e := rf.http.Get(name); e != nil {
		return e
	}
	return rf.oci.Get(name)
}

// ociRegistryClient is a registry client with an OCI repository's own
// transport settings and credentials (else the stored login's).
func ociRegistryClient(env *Env, e *repo.Entry) (*registry.Client, error) {
	return registry.New(registry.Options{
		CredentialsFile:       env.Settings.RegistryConfig,
		PlainHTTP:             e.PlainHTTP,
		InsecureSkipTLSVerify: e.InsecureSkipTLSVerify,
		CertFile:              e.CertFile, KeyFile: e.KeyFile, CAFile: e.CAFile,
		Username: e.Username, Password: e.Password,
		Logger: env.Logger,
	})
}

// updateOCI lists an OCI repository's namespace into the repository cache.
func updateOCI(ctx context.Context, env *Env, e *repo.Entry) (*index.Compact, error) {
	ns, err := registry.ParseNamespace(e.URL)
	if err != nil {
		return nil, err
	}
	c, err := ociRegistryClient(env, e)
	if err != nil {
		return nil, err
	}
	idx, err := c.ListNamespace(ctx, ns)
	if err != nil {
		return nil, err
	}
	frags, err := idx.Fragments()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := index.RenderYAML(&buf, idx.Header(), frags); err != nil {
		return nil, err
	}
	return repo.Cache{Dir: env.Settings.RepositoryCache, Logger: env.Logger}.Put(e.Name, buf.Bytes())
}

// updateEntry refreshes one repository's cached index, of either kind.
func updateEntry(ctx context.Context, env *Env, cache repo.Cache, e *repo.Entry, timeout time.Duration) error {
	if registry.IsOCI(e.URL) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := updateOCI(ctx, env, e)
		return err
	}
	_, err := cache.Update(ctx, e, timeout)
	return err
}

// addOCI is `repo add NAME oci://host/namespace`. The caller holds the
// repositories lock, which covers both files.
func (a *RepoAdd) addOCI(ctx context.Context, out io.Writer, rf *repoFiles, e *repo.Entry) error {
	if a.PassCredentialsAll {
		return errors.New("--pass-credentials does not apply to an OCI repository")
	}
	if rf.http.Has(a.Name) {
		return fmt.Errorf("repository name (%s) already exists, please specify a different name", a.Name)
	}
	if existing := rf.oci.Get(a.Name); existing != nil && !a.ForceUpdate {
		if *existing != *e {
			return fmt.Errorf("repository name (%s) already exists, please specify a different name", a.Name)
		}
		fmt.Fprintf(out, "%q already exists with the same configuration, skipping\n", a.Name)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	if _, err := updateOCI(ctx, a.Env, e); err != nil {
		return fmt.Errorf("looks like %q is not a valid OCI namespace or cannot be listed: %w", a.URL, err)
	}
	rf.oci.Update(e)
	if err := rf.oci.WriteFile(rf.ociPath, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(out, "%q has been added to your repositories\n", a.Name)
	return nil
}

// ociChartRef resolves REPO/CHART of an OCI repository to the oci://
// reference of the wanted version, from the cached listing, and points the
// downloader at the repository's transport and credentials.
func (d *downloader) ociChartRef(e *repo.Entry, chartName, version string) (string, error) {
	ns, err := registry.ParseNamespace(e.URL)
	if err != nil {
		return "", err
	}
	if strings.Contains(chartName, "/") {
		return "", fmt.Errorf("chart %q: an OCI repository holds charts directly below %s", chartName, e.URL)
	}
	if d.opts.Username == "" && d.opts.Password == "" {
		d.opts.Username, d.opts.Password = e.Username, e.Password
	}
	d.opts.PlainHTTP = d.opts.PlainHTTP || e.PlainHTTP
	d.opts.InsecureSkipTLSVerify = d.opts.InsecureSkipTLSVerify || e.InsecureSkipTLSVerify
	if d.opts.CertFile == "" && d.opts.KeyFile == "" && d.opts.CAFile == "" {
		d.opts.CertFile, d.opts.KeyFile, d.opts.CAFile = e.CertFile, e.KeyFile, e.CAFile
	}
	idx, err := repo.Cache{Dir: d.env.Settings.RepositoryCache, Logger: d.env.Logger}.Load(e.Name)
	if err != nil {
		return "", fmt.Errorf("no cached repo found. (try 'helm repo update'): %w", err)
	}
	cv, err := idx.Get(chartName, version)
	if err != nil {
		return "", fmt.Errorf("chart %q matching %s not found in %s index. (try 'helm repo update'): %w", chartName, version, e.Name, err)
	}
	return ns.ChartRef(chartName) + ":" + registry.VersionToTag(cv.Version), nil
}
