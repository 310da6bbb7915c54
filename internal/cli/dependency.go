package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/gosuri/uitable"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// errLockOutOfSync is Helm's message when Chart.lock does not match Chart.yaml.
var errLockOutOfSync = errors.New("the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies")

func newDependencyCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "dependency update|build|list",
		Aliases: []string{"dep", "dependencies"},
		Short:   "manage a chart's dependencies",
		Long:    "\nManage the dependencies of a chart.\n",
		Args:    noArgs,
	}
	cmd.AddCommand(newDependencyListCmd(env), newDependencyUpdateCmd(env, false), newDependencyUpdateCmd(env, true))
	return cmd
}

// DependencyList is `helm dependency list CHART`.
type DependencyList struct {
	Env         *Env
	ChartPath   string
	MaxColWidth uint
}

// Run prints the dependency table and the archives Chart.yaml does not name.
func (a *DependencyList) Run(ctx context.Context, out io.Writer) error {
	ch, err := chart.Load(ctx, a.ChartPath)
	if err != nil {
		return err
	}
	if ch.Metadata.Dependencies == nil {
		fmt.Fprintf(out, "WARNING: no dependencies at %s\n", filepath.Join(a.ChartPath, "charts"))
		return nil
	}
	t := uitable.New()
	t.MaxColWidth = a.MaxColWidth
	t.AddRow("NAME", "VERSION", "REPOSITORY", "STATUS")
	for _, d := range ch.Metadata.Dependencies {
		t.AddRow(d.Name, d.Version, d.Repository, dependencyStatus(ctx, a.ChartPath, d, ch))
	}
	fmt.Fprintln(out, t)
	fmt.Fprintln(out)
	files, _ := filepath.Glob(filepath.Join(a.ChartPath, "charts", "*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || (!fi.IsDir() && filepath.Ext(f) != ".tgz") {
			continue
		}
		c, err := chart.Load(ctx, f)
		if err != nil {
			fmt.Fprintf(out, "WARNING: %q is not a chart.\n", f)
			continue
		}
		found := false
		for _, d := range ch.Metadata.Dependencies {
			found = found || d.Name == c.Name()
		}
		if !found {
			fmt.Fprintf(out, "WARNING: %q is not in Chart.yaml.\n", f)
		}
	}
	return nil
}

func versionOK(constraint, version string) string {
	if constraint == version {
		return ""
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "invalid version"
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return "invalid version"
	}
	if !c.Check(v) {
		return "wrong version"
	}
	return ""
}

// dependencyStatus is Helm's STATUS column: ok / missing / wrong version /
// unpacked / too many matches / corrupt / misnamed.
func dependencyStatus(ctx context.Context, chartPath string, d *chart.Dependency, parent *chart.Chart) string {
	archives, err := filepath.Glob(filepath.Join(chartPath, "charts", d.Name+"-*.tgz"))
	if err != nil {
		return "bad pattern"
	}
	var found []string
	for _, a := range archives {
		v := strings.TrimPrefix(strings.TrimSuffix(filepath.Base(a), ".tgz"), d.Name+"-")
		if len(archives) == 1 {
			found = append(found, a)
		} else if _, err := semver.StrictNewVersion(v); err == nil {
			found = append(found, a)
		}
	}
	if len(found) > 1 {
		return "too many matches"
	}
	if len(found) == 1 {
		c, err := chart.LoadFile(ctx, found[0])
		if err != nil {
			return "corrupt"
		}
		if c.Name() != d.Name {
			return "misnamed"
		}
		if s := versionOK(d.Version, c.Metadata.Version); s != "" {
			return s
		}
		return "ok"
	}
	for _, sub := range parent.Dependencies() {
		if sub.Name() == d.Name {
			if s := versionOK(d.Version, sub.Metadata.Version); s != "" {
				return s
			}
			return "unpacked"
		}
	}
	return "missing"
}

func newDependencyListCmd(env *Env) *cobra.Command {
	a := &DependencyList{Env: env}
	cmd := &cobra.Command{
		Use:     "list CHART",
		Aliases: []string{"ls"},
		Short:   "list the dependencies for the given chart",
		Args:    maximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.ChartPath = "."
			if len(args) > 0 {
				a.ChartPath = filepath.Clean(args[0])
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
	cmd.Flags().UintVar(&a.MaxColWidth, "max-col-width", 80, "maximum column width for output table")
	return cmd
}

// DependencyUpdate is `helm dependency update|build CHART`.
type DependencyUpdate struct {
	Env       *Env
	ChartPath string
	Keyring   string
	// Build downloads the versions locked in Chart.lock instead of resolving.
	Build      bool
	SkipUpdate bool
	ChartPathOptions
	// unmanaged are the indexes refreshUnmanaged fetched, by URL.
	unmanaged map[string]*index.Compact
}

// Run resolves (or, for build, reads) the dependency versions, refreshes
// the repositories they come from, downloads them into charts/ and writes
// Chart.lock with Helm's digest.
func (a *DependencyUpdate) Run(ctx context.Context, out io.Writer) error {
	ch, err := chart.LoadDir(ctx, a.ChartPath)
	if err != nil {
		return err
	}
	req := ch.Metadata.Dependencies
	if err := a.resolveRepoNames(req); err != nil {
		return err
	}
	if a.Build && ch.Lock != nil {
		sum, err := hashReq(req, ch.Lock.Dependencies)
		if err != nil || sum != ch.Lock.Digest {
			return errLockOutOfSync
		}
		if err := a.refresh(ctx, out, ch.Lock.Dependencies); err != nil {
			return err
		}
		return a.download(ctx, out, ch.Lock.Dependencies)
	}
	if req == nil {
		return nil
	}
	a.refreshUnmanaged(ctx, out, req)
	if err := a.refresh(ctx, out, req); err != nil {
		return err
	}
	locked := make([]*chart.Dependency, 0, len(req))
	for _, d := range req {
		v, err := a.resolve(ctx, d)
		if err != nil {
			return err
		}
		locked = append(locked, &chart.Dependency{Name: d.Name, Version: v, Repository: d.Repository})
	}
	if err := a.download(ctx, out, locked); err != nil {
		return err
	}
	sum, err := hashReq(req, locked)
	if err != nil {
		return err
	}
	if ch.Lock != nil && ch.Lock.Digest == sum {
		return nil
	}
	lock := &chart.Lock{Generated: time.Now().Format(time.RFC3339Nano), Digest: sum, Dependencies: locked}
	b, err := yaml.Marshal(lock)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(a.ChartPath, "Chart.lock"), b, 0o644)
}

// hashReq is Helm's lock digest: sha256 of the JSON of [requirements, lock].
func hashReq(req, lock []*chart.Dependency) (string, error) {
	b, err := json.Marshal([2][]*chart.Dependency{req, lock})
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:]), nil
}

// repoFor finds the configured repository a dependency's repository field
// names: "@name", "alias:name", or a URL equal to the entry's.
func repoFor(f *repo.File, repository string) *repo.Entry {
	name := ""
	switch {
	case strings.HasPrefix(repository, "@"):
		name = repository[1:]
	case strings.HasPrefix(repository, "alias:"):
		name = strings.TrimPrefix(repository, "alias:")
	}
	for _, e := range f.Repositories {
		if (name != "" && e.Name == name) || (name == "" && strings.TrimSuffix(e.URL, "/") == strings.TrimSuffix(repository, "/")) {
			return e
		}
	}
	return nil
}

// resolveRepoNames rewrites "@name" and "alias:name" repositories to the
// configured URL, in place, as Helm does (the lock file and its digest carry
// the URL), and reports repositories that are neither URLs nor configured.
func (a *DependencyUpdate) resolveRepoNames(deps []*chart.Dependency) error {
	f, err := repo.LoadFile(a.Env.Settings.RepositoryConfig)
	if err != nil && !repo.IsNotExist(err) {
		return err
	}
	var missing []string
	for _, d := range deps {
		if d.Repository == "" || strings.HasPrefix(d.Repository, "file://") || registry.IsOCI(d.Repository) {
			continue
		}
		if e := repoFor(f, d.Repository); e != nil {
			d.Repository = e.URL
			continue
		}
		if _, err := url.ParseRequestURI(d.Repository); err != nil {
			missing = append(missing, d.Repository)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("no repository definition for %s. Please add them via 'helm repo add'", strings.Join(missing, ", "))
	for _, m := range missing {
		if !strings.Contains(m, "//") && !strings.HasPrefix(m, "@") && !strings.HasPrefix(m, "alias:") {
			msg += `
Note that repositories must be URLs or aliases. For example, to refer to the "example"
repository, use "https://charts.example.com/" or "@example" instead of
"example". Don't forget to add the repo, too ('helm repo add').`
			break
		}
	}
	return errors.New(msg)
}

// refresh updates every configured repository, as Helm's dependency update
// and build do before resolving (whether the dependencies use them or not).
func (a *DependencyUpdate) refresh(ctx context.Context, out io.Writer, _ []*chart.Dependency) error {
	f, err := repo.LoadFile(a.Env.Settings.RepositoryConfig)
	if err != nil && !repo.IsNotExist(err) {
		return err
	}
	var entries []*repo.Entry
	if f != nil {
		entries = f.Repositories
	}
	if a.SkipUpdate || len(entries) == 0 {
		return nil
	}
	fmt.Fprintln(out, "Hang tight while we grab the latest from your chart repositories...")
	cache := repo.Cache{Dir: a.Env.Settings.RepositoryCache, Logger: a.Env.Logger, Open: openerFor(a.Env)}
	for _, e := range entries {
		if _, err := cache.Update(ctx, e, 2*time.Minute); err != nil {
			fmt.Fprintf(out, "...Unable to get an update from the %q chart repository (%s):\n\t%s\n", e.Name, e.URL, err)
			continue
		}
		fmt.Fprintf(out, "...Successfully got an update from the %q chart repository\n", e.Name)
	}
	fmt.Fprintln(out, "Update Complete. ⎈Happy Helming!⎈")
	return nil
}

// index returns the index a dependency resolves against.
func (a *DependencyUpdate) index(ctx context.Context, d *chart.Dependency) (*index.Compact, *repo.Entry, error) {
	f, _ := repo.LoadFile(a.Env.Settings.RepositoryConfig)
	if e := repoFor(f, d.Repository); e != nil {
		idx, err := repo.Cache{Dir: a.Env.Settings.RepositoryCache}.Load(e.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("no cached repository for %s found. (try 'helm repo update'): %w", e.Name, err)
		}
		return idx, e, nil
	}
	// A repository that is not configured: read its index directly.
	e := &repo.Entry{URL: d.Repository}
	if idx, ok := a.unmanaged[d.Repository]; ok {
		return idx, e, nil
	}
	g, err := newGetter(a.Env, repo.OptionsFor(e))
	if err != nil {
		return nil, nil, err
	}
	idx, err := g.FetchIndex(ctx, e.URL)
	return idx, e, err
}

// resolve picks the version of one dependency.
func (a *DependencyUpdate) resolve(ctx context.Context, d *chart.Dependency) (string, error) {
	c, err := semver.NewConstraint(d.Version)
	if err != nil {
		return "", fmt.Errorf("dependency %q has an invalid version/constraint format: %w", d.Name, err)
	}
	switch {
	case d.Repository == "":
		return d.Version, nil
	case strings.HasPrefix(d.Repository, "file://"):
		p := d.Repository[len("file://"):]
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.ChartPath, p)
		}
		sub, err := chart.LoadDir(ctx, p)
		if err != nil {
			return "", fmt.Errorf("directory %s not found: %w", p, err)
		}
		v, err := semver.NewVersion(sub.Metadata.Version)
		if err != nil || !c.Check(v) {
			return "", fmt.Errorf("can't get a valid version for dependency %s", d.Name)
		}
		return sub.Metadata.Version, nil
	case registry.IsOCI(d.Repository):
		rc, err := (&downloader{env: a.Env, opts: &a.ChartPathOptions}).registryClient()
		if err != nil {
			return "", err
		}
		ref, err := registry.ParseReference(strings.TrimSuffix(d.Repository, "/") + "/" + d.Name)
		if err != nil {
			return "", err
		}
		tags, err := rc.Tags(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("could not retrieve list of tags for repository %s: %w", d.Repository, err)
		}
		v, err := registry.MatchVersion(tags, d.Version)
		if err != nil {
			return "", fmt.Errorf("can't get a valid version for dependency %s", d.Name)
		}
		return v, nil
	}
	idx, _, err := a.index(ctx, d)
	if err != nil {
		return "", err
	}
	if len(idx.Entries[d.Name]) == 0 {
		return "", fmt.Errorf("%s chart not found in repo %s", d.Name, d.Repository)
	}
	cv, err := idx.Get(d.Name, d.Version)
	if err != nil {
		return "", fmt.Errorf("can't get a valid version for repositories %s. Try changing the version constraint in Chart.yaml", d.Name)
	}
	return cv.Version, nil
}

// download fetches every locked dependency into a staging directory, then
// replaces the archives in charts/, deleting outdated ones.
func (a *DependencyUpdate) download(ctx context.Context, out io.Writer, deps []*chart.Dependency) error {
	dest := filepath.Join(a.ChartPath, "charts")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(a.ChartPath, "tmpcharts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(out, "Saving %d charts\n", len(deps))
	local := map[string]bool{}
	for _, d := range deps {
		switch {
		case d.Repository == "":
			fmt.Fprintf(out, "Dependency %s did not declare a repository. Assuming it exists in the charts directory\n", d.Name)
			local[d.Name] = true
			continue
		case strings.HasPrefix(d.Repository, "file://"):
			p := d.Repository[len("file://"):]
			if !filepath.IsAbs(p) {
				p = filepath.Join(a.ChartPath, p)
			}
			sub, err := chart.LoadDir(ctx, p)
			if err != nil {
				return err
			}
			if _, err := chart.Save(ctx, sub, tmp); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(out, "Downloading %s from repo %s\n", d.Name, d.Repository)
		dep, err := a.fetchDependency(ctx, d)
		if err != nil {
			return fmt.Errorf("could not download %s: %w", d.Name, err)
		}
		archive := filepath.Join(tmp, fmt.Sprintf("%s-%s.tgz", d.Name, d.Version))
		if err := os.WriteFile(archive, dep.Data, 0o644); err != nil {
			return err
		}
		if a.Verify {
			if err := a.verifyDependency(ctx, out, dep, archive); err != nil {
				err = fmt.Errorf("could not download %s: %w", dep.URL, err)
				fmt.Fprintln(out, "Save error occurred: ", err)
				return err
			}
		}
	}
	fresh, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, f := range fresh {
		if skipMove(out, filepath.Join(tmp, f.Name())) {
			continue
		}
		keep[f.Name()] = true
		if err := os.Rename(filepath.Join(tmp, f.Name()), filepath.Join(dest, f.Name())); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "Deleting outdated charts")
	old, err := os.ReadDir(dest)
	if err != nil {
		return err
	}
	for _, f := range old {
		if f.IsDir() || keep[f.Name()] || filepath.Ext(f.Name()) != ".tgz" {
			continue
		}
		p := filepath.Join(dest, f.Name())
		c, err := chart.LoadFile(ctx, p)
		if err != nil {
			fmt.Fprintf(out, "Could not verify %s for deletion: %s (Skipping)\n", p, err)
			continue
		}
		if local[c.Name()] {
			continue
		}
		if err := os.Remove(p); err != nil {
			fmt.Fprintf(out, "Could not delete %s: %s (Skipping)", p, err)
		}
	}
	return nil
}

func (a *DependencyUpdate) fetchDependency(ctx context.Context, d *chart.Dependency) (*depDownload, error) {
	opts := a.ChartPathOptions
	opts.Version = d.Version
	dl := &downloader{env: a.Env, opts: &opts, out: a.Env.Err}
	if registry.IsOCI(d.Repository) {
		ref := strings.TrimSuffix(d.Repository, "/") + "/" + d.Name
		f, err := dl.fetchOCI(ctx, ref, d.Version, a.Verify, false)
		if err != nil {
			return nil, err
		}
		return &depDownload{URL: ref + ":" + d.Version, Data: f.Data, Prov: f.Prov, ProvErr: registry.ErrNoProv}, nil
	}
	idx, e, err := a.index(ctx, d)
	if err != nil {
		return nil, err
	}
	cv, err := idx.Get(d.Name, d.Version)
	if err != nil {
		return nil, err
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart %q has no downloadable URLs", d.Name)
	}
	u, err := repo.ResolveReferenceURL(e.URL, cv.URLs[0])
	if err != nil {
		return nil, err
	}
	if registry.IsOCI(u) {
		f, err := dl.fetchOCI(ctx, u, "", a.Verify, false)
		if err != nil {
			return nil, err
		}
		return &depDownload{URL: u, Data: f.Data, Prov: f.Prov, ProvErr: registry.ErrNoProv}, nil
	}
	g, err := newGetter(a.Env, unmanagedCreds(a.Env, e, u))
	if err != nil {
		return nil, err
	}
	data, err := g.Get(ctx, u)
	if err != nil {
		return nil, err
	}
	if _, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(data), chart.Limits{}); err != nil {
		return nil, err
	}
	dep := &depDownload{URL: u, Data: data}
	if a.Verify {
		dep.Prov, dep.ProvErr = g.Get(ctx, u+".prov")
	}
	return dep, nil
}

func newDependencyUpdateCmd(env *Env, build bool) *cobra.Command {
	a := &DependencyUpdate{Env: env, Build: build}
	use, short, aliases := "update CHART", "update charts/ based on the contents of Chart.yaml", []string{"up"}
	if build {
		use, short, aliases = "build CHART", "rebuild the charts/ directory based on the Chart.lock file", nil
	}
	cmd := &cobra.Command{
		Use:     use,
		Aliases: aliases,
		Short:   short,
		Args:    maximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.ChartPath = "."
			if len(args) > 0 {
				a.ChartPath = filepath.Clean(args[0])
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.Verify, "verify", false, "verify the packages against signatures")
	f.StringVar(&a.Keyring, "keyring", defaultKeyring(env.Lookup), "keyring containing public keys")
	f.BoolVar(&a.SkipUpdate, "skip-refresh", false, "do not refresh the local repository cache")
	f.StringVar(&a.Username, "username", "", "chart repository username where to locate the requested chart")
	f.StringVar(&a.Password, "password", "", "chart repository password where to locate the requested chart")
	f.StringVar(&a.CertFile, "cert-file", "", "identify HTTPS client using this SSL certificate file")
	f.StringVar(&a.KeyFile, "key-file", "", "identify HTTPS client using this SSL key file")
	f.BoolVar(&a.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "skip tls certificate checks for the chart download")
	f.BoolVar(&a.PlainHTTP, "plain-http", false, "use insecure HTTP connections for the chart download")
	f.StringVar(&a.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	return cmd
}
