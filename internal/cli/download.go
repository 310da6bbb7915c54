package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chartd/chartd/internal/helmpath"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// ChartPathOptions are the flags every command taking a chart reference
// shares (pull, show, template, ...).
type ChartPathOptions struct {
	Version               string
	Devel                 bool
	RepoURL               string
	Username, Password    string
	PassCredentialsAll    bool
	CertFile, KeyFile     string
	CAFile                string
	InsecureSkipTLSVerify bool
	PlainHTTP             bool
	Verify                bool
	Keyring               string
}

// effectiveVersion applies --devel the way Helm does.
func (o *ChartPathOptions) effectiveVersion() string {
	if o.Version == "" && o.Devel {
		return ">0.0.0-0"
	}
	return o.Version
}

// defaultKeyring is $GNUPGHOME/pubring.gpg or ~/.gnupg/pubring.gpg.
func defaultKeyring(lookup helmpath.Lookup) string {
	if v, ok := lookup("GNUPGHOME"); ok && v != "" {
		return filepath.Join(v, "pubring.gpg")
	}
	home, _ := lookup("HOME")
	return filepath.Join(home, ".gnupg", "pubring.gpg")
}

// downloader fetches charts from repositories, URLs and registries.
type downloader struct {
	env  *Env
	opts *ChartPathOptions
	// out receives registry progress ("Pulled: ..."); Helm writes it to stderr.
	out io.Writer
	// storeContent checks downloads from repositories against their index
	// digest and keeps them in the content cache (install, upgrade,
	// template: Helm 4's DownloadToCache); otherwise the cache is only read.
	storeContent bool
}

// fetched is a downloaded chart.
type fetched struct {
	Name string // file name to save as
	Data []byte
	Prov []byte // nil unless requested and found
}

func (d *downloader) registryClient() (*registry.Client, error) {
	return registry.New(registry.Options{
		CredentialsFile:       d.env.Settings.RegistryConfig,
		PlainHTTP:             d.opts.PlainHTTP,
		InsecureSkipTLSVerify: d.opts.InsecureSkipTLSVerify,
		CertFile:              d.opts.CertFile, KeyFile: d.opts.KeyFile, CAFile: d.opts.CAFile,
		Username: d.opts.Username, Password: d.opts.Password,
		Logger: d.env.Logger,
	})
}

// fetch resolves ref (oci://, http(s) URL, repo/chart, or a name with
// --repo) and downloads it; with prov it also fetches the provenance file
// (required when must is set).
func (d *downloader) fetch(ctx context.Context, ref string, prov, must bool) (*fetched, error) {
	version := d.opts.effectiveVersion()
	if registry.IsOCI(ref) {
		return d.fetchOCI(ctx, ref, version, prov, must)
	}
	hopts := repo.HTTPOptions{
		URL: ref, Username: d.opts.Username, Password: d.opts.Password,
		PassCredentialsAll: d.opts.PassCredentialsAll, CertFile: d.opts.CertFile, KeyFile: d.opts.KeyFile,
		CAFile: d.opts.CAFile, InsecureSkipTLSVerify: d.opts.InsecureSkipTLSVerify, Timeout: 5 * time.Minute,
	}
	var chartURL, digest string
	switch {
	case d.opts.RepoURL != "":
		hopts.URL = d.opts.RepoURL
		g, err := newGetter(d.env, hopts)
		if err != nil {
			return nil, err
		}
		idx, err := g.FetchIndex(ctx, d.opts.RepoURL)
		if err != nil {
			return nil, fmt.Errorf("looks like %q is not a valid chart repository or cannot be reached: %w", d.opts.RepoURL, err)
		}
		cv, err := idx.Get(ref, version)
		if err != nil {
			errMsg := fmt.Sprintf("chart %q", ref)
			if version != "" {
				errMsg = fmt.Sprintf("%s version %q", errMsg, version)
			}
			return nil, fmt.Errorf("%s not found in %s repository", errMsg, d.opts.RepoURL)
		}
		if len(cv.URLs) == 0 {
			return nil, fmt.Errorf("%s has no downloadable URLs", ref)
		}
		if chartURL, err = repo.ResolveReferenceURL(d.opts.RepoURL, cv.URLs[0]); err != nil {
			return nil, err
		}
		digest = cv.Digest
	case isChartURL(ref):
		chartURL = ref
		// A URL inside a configured repository uses that repository's credentials.
		if f, _ := repo.LoadFile(d.env.Settings.RepositoryConfig); f != nil {
			for _, e := range f.Repositories {
				if e.URL != "" && strings.HasPrefix(ref, e.URL) {
					hopts = mergeRepoCreds(hopts, e)
					break
				}
			}
		}
	default:
		repoName, chartName, ok := strings.Cut(ref, "/")
		if !ok {
			return nil, fmt.Errorf("non-absolute URLs should be in form of repo_name/path_to_chart, got: %s", ref)
		}
		rf, err := loadRepoFiles(d.env.Settings)
		if err != nil {
			return nil, err
		}
		e := rf.get(repoName)
		if e == nil {
			return nil, fmt.Errorf("repo %s not found", repoName)
		}
		if registry.IsOCI(e.URL) {
			ref, err := d.ociChartRef(e, chartName, version)
			if err != nil {
				return nil, err
			}
			return d.fetchOCI(ctx, ref, "", prov, must)
		}
		hopts = mergeRepoCreds(hopts, e)
		idx, err := repo.Cache{Dir: d.env.Settings.RepositoryCache, Logger: d.env.Logger}.Load(repoName)
		if err != nil {
			return nil, fmt.Errorf("no cached repo found. (try 'helm repo update'): %w", err)
		}
		cv, err := idx.Get(chartName, version)
		if err != nil {
			return nil, fmt.Errorf("chart %q matching %s not found in %s index. (try 'helm repo update'): %w", chartName, version, repoName, err)
		}
		if len(cv.URLs) == 0 {
			return nil, fmt.Errorf("chart %q has no downloadable URLs", ref)
		}
		if chartURL, err = repo.ResolveReferenceURL(e.URL, cv.URLs[0]); err != nil {
			return nil, fmt.Errorf("invalid chart URL format: %s", ref)
		}
		digest = cv.Digest
	}
	if registry.IsOCI(chartURL) {
		return d.fetchOCI(ctx, chartURL, "", prov, must)
	}
	g, err := newGetter(d.env, hopts)
	if err != nil {
		return nil, err
	}
	cache := contentCache{root: d.env.Settings.ContentCache}
	data, cached := cache.get(digest)
	if !cached {
		if data, err = g.GetWithAccept(ctx, chartURL, "application/gzip,application/octet-stream"); err != nil {
			return nil, err
		}
		if d.storeContent {
			if err := cache.check(chartURL, digest, data); err != nil {
				return nil, err
			}
			if err := cache.put(digest, data); err != nil {
				return nil, err
			}
		}
	}
	u, err := url.Parse(chartURL)
	if err != nil {
		return nil, fmt.Errorf("invalid chart URL format: %s", chartURL)
	}
	res := &fetched{Name: filepath.Base(u.Path), Data: data}
	if prov {
		p, err := g.Get(ctx, chartURL+".prov")
		if err != nil {
			if must {
				return nil, fmt.Errorf("failed to fetch provenance %q", chartURL+".prov")
			}
			fmt.Fprintf(d.out, "WARNING: Verification not found for %s: %s\n", ref, err)
		}
		res.Prov = p
	}
	return res, nil
}

// isChartURL: Helm takes any absolute URL with a host and a path for a
// chart's URL, whatever its scheme (a downloader plugin may serve it).
func isChartURL(ref string) bool {
	u, err := url.Parse(ref)
	return err == nil && u.IsAbs() && u.Host != "" && u.Path != ""
}

func mergeRepoCreds(h repo.HTTPOptions, e *repo.Entry) repo.HTTPOptions {
	h.URL = e.URL
	if e.CertFile != "" || e.KeyFile != "" || e.CAFile != "" {
		h.CertFile, h.KeyFile, h.CAFile = e.CertFile, e.KeyFile, e.CAFile
	}
	// Like Helm, a repository's insecure_skip_tls_verify applies to its
	// index only: downloads need --insecure-skip-tls-verify themselves.
	if e.Username != "" && e.Password != "" {
		h.Username, h.Password, h.PassCredentialsAll = e.Username, e.Password, e.PassCredentialsAll
	}
	return h
}

func (d *downloader) fetchOCI(ctx context.Context, ref, version string, prov, must bool) (*fetched, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	c, err := d.registryClient()
	if err != nil {
		return nil, err
	}
	if r, err = c.ResolveVersion(ctx, r, version); err != nil {
		return nil, err
	}
	res, err := c.Pull(ctx, r, prov)
	if err != nil {
		if prov && !must && errors.Is(err, registry.ErrNoProv) {
			res, err = c.Pull(ctx, r, false)
		}
		if err != nil {
			return nil, err
		}
	}
	if res.Legacy {
		fmt.Fprintf(d.out, "Warning: chart media type %s is deprecated\n", registry.LegacyChartLayerMediaType)
	}
	fmt.Fprintf(d.out, "Pulled: %s\n", res.Ref)
	fmt.Fprintf(d.out, "Digest: %s\n", res.ManifestDigest)
	if strings.Contains(r.Tag, "_") {
		fmt.Fprintf(d.out, "%s contains an underscore.\n", res.Ref)
		fmt.Fprint(d.out, registry.UnderscoreMessage+"\n")
	}
	// Helm names the file after the last path element of the reference,
	// its last ":" turned into "-": name-version.tgz, or for a digest
	// reference (name@digest or name:tag@digest) name@sha256-<hex>.tgz.
	name := r.Repository[strings.LastIndex(r.Repository, "/")+1:]
	file := fmt.Sprintf("%s-%s.tgz", name, res.Metadata.Version)
	if r.Digest != "" {
		file = name + "@" + strings.Replace(r.Digest, ":", "-", 1) + ".tgz"
	}
	return &fetched{Name: file, Data: res.Chart, Prov: res.Prov}, nil
}

// verifyArchive checks a chart archive against its provenance file.
func verifyArchive(ctx context.Context, archivePath string, prov []byte, keyringPath string) (*provenance.Verification, error) {
	af, err := os.Open(archivePath)
	if err != nil {
		return nil, err
	}
	defer af.Close()
	return verifyReader(ctx, filepath.Base(archivePath), af, prov, keyringPath)
}

// verifyReader checks the archive read from r, named name, against its
// provenance file and the keyring at keyringPath (charts and plugins alike).
func verifyReader(ctx context.Context, name string, r io.Reader, prov []byte, keyringPath string) (*provenance.Verification, error) {
	kf, err := os.Open(keyringPath)
	if err != nil {
		return nil, fmt.Errorf("failed to load keyring: %w", err)
	}
	ring, err := provenance.ReadKeyring(kf)
	kf.Close()
	if err != nil {
		return nil, fmt.Errorf("failed to load keyring: %w", err)
	}
	v, err := provenance.Verify(ctx, ring, prov, name, r)
	return v, provenanceError(err, name)
}

// printVerification prints what Helm prints after a successful verification.
func printVerification(out io.Writer, v *provenance.Verification) {
	fmt.Fprintf(out, "Signed by: %s\n", v.SignedBy)
	fmt.Fprintf(out, "Using Key With Fingerprint: %s\n", v.Fingerprint)
	fmt.Fprintf(out, "Chart Hash Verified: %s\n", v.FileHash)
}

// locateChart returns a local path for name: the directory or archive
// itself when it exists, else the chart downloaded into the repository cache
// (as Helm does for show, template and install).
func locateChart(ctx context.Context, env *Env, opts *ChartPathOptions, name string) (string, error) {
	name = strings.TrimSpace(name)
	if opts.RepoURL == "" {
		if _, err := os.Stat(name); err == nil {
			abs, err := filepath.Abs(name)
			if err != nil {
				return "", err
			}
			if opts.Verify {
				// Helm looks before it reads, and words a missing file so.
				if _, err := os.Stat(abs + ".prov"); err != nil {
					return "", fmt.Errorf("could not load provenance file %s.prov: %w", abs, err)
				}
				prov, err := os.ReadFile(abs + ".prov")
				if err != nil {
					return "", fmt.Errorf("could not load provenance file %s.prov: %w", abs, err)
				}
				if _, err := verifyArchive(ctx, abs, prov, opts.Keyring); err != nil {
					return "", err
				}
			}
			return abs, nil
		}
		if filepath.IsAbs(name) || strings.HasPrefix(name, ".") {
			return name, fmt.Errorf("path %q not found", name)
		}
	}
	d := &downloader{env: env, opts: opts, out: env.Err, storeContent: true}
	f, err := d.fetch(ctx, name, opts.Verify, opts.Verify)
	if err != nil {
		return "", err
	}
	dir := env.Settings.RepositoryCache
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, f.Name)
	if err := repo.WriteAtomic(p, f.Data, 0o644); err != nil {
		return "", err
	}
	if f.Prov != nil {
		if err := repo.WriteAtomic(p+".prov", f.Prov, 0o644); err != nil {
			return "", err
		}
		if opts.Verify {
			if _, err := verifyArchive(ctx, p, f.Prov, opts.Keyring); err != nil {
				return "", err
			}
		}
	}
	return p, nil
}
