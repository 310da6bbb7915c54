package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/chartd/chartd/index"
)

// ErrListingForbidden: the registry does not let this caller list its
// repositories (_catalog) or a repository's tags.
var ErrListingForbidden = errors.New("the registry does not allow listing")

// Namespace is an OCI namespace used as a chart repository: oci://host/ns,
// where each repository directly below ns is one chart and its semver tags
// are the chart's versions. The root of a registry is oci://host.
type Namespace struct {
	Registry string
	Path     string
}

// ParseNamespace parses oci://host[:port][/path].
func ParseNamespace(raw string) (Namespace, error) {
	s, ok := strings.CutPrefix(raw, Scheme)
	if !ok {
		return Namespace{}, fmt.Errorf("%w: %q is not an oci:// URL", ErrInvalidReference, raw)
	}
	host, path, _ := strings.Cut(strings.TrimSuffix(s, "/"), "/")
	if strings.ContainsAny(path, ":@") {
		return Namespace{}, fmt.Errorf("%w: %q: a namespace has no tag or digest", ErrInvalidReference, raw)
	}
	if _, err := remote.NewRegistry(host); err != nil {
		return Namespace{}, fmt.Errorf("%w: %q: %w", ErrInvalidReference, raw, err)
	}
	if path != "" {
		// A namespace must be a valid repository name prefix.
		if _, err := ParseReference(host + "/" + path + "/x"); err != nil {
			return Namespace{}, err
		}
	}
	return Namespace{Registry: host, Path: path}, nil
}

// ChartRef is the oci:// reference of chart name in the namespace, without
// a tag.
func (n Namespace) ChartRef(name string) string {
	if n.Path == "" {
		return Scheme + n.Registry + "/" + name
	}
	return Scheme + n.Registry + "/" + n.Path + "/" + name
}

// listConcurrency bounds the manifest and config fetches of one listing.
const listConcurrency = 8

// ListNamespace lists the charts of an OCI namespace as an index whose URLs
// are oci:// references, so that `search repo` and `pull REPO/CHART` treat
// it as any other repository. A chartd registry is asked through its search
// API, in a request or two per chart; any other registry through _catalog
// and tags/list, with one manifest and one config fetch per version.
func (c *Client) ListNamespace(ctx context.Context, ns Namespace) (*index.File, error) {
	f, err := c.listChartd(ctx, ns)
	if err == nil {
		c.opts.Logger.Debug("listed the namespace through chartd's search API", "namespace", Scheme+ns.Registry+"/"+ns.Path)
		return f, nil
	}
	if !errors.Is(err, errNotChartd) {
		return nil, err
	}
	c.opts.Logger.Debug("listing the namespace through _catalog and tags/list", "namespace", Scheme+ns.Registry+"/"+ns.Path)
	return c.listCatalog(ctx, ns)
}

// errNotChartd: the registry does not serve chartd's search API.
var errNotChartd = errors.New("not a chartd registry")

func (c *Client) baseURL(ns Namespace) string {
	if c.opts.PlainHTTP {
		return "http://" + ns.Registry
	}
	return "https://" + ns.Registry
}

// apiGet GETs a chartd API path with the registry's credentials as basic
// auth and decodes the JSON answer into v. A non-JSON or 404 answer means
// the server is not chartd.
func (c *Client) apiGet(ctx context.Context, ns Namespace, path string, query url.Values, v any) error {
	u := c.baseURL(ns) + path + "?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.auth.Header.Get("User-Agent"))
	if cred, err := c.auth.Credential(ctx, ns.Registry); err == nil && cred.Username != "" {
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	resp, err := c.auth.Client.Do(req)
	if err != nil {
		return fmt.Errorf("list %s: %w", Scheme+ns.Registry, err)
	}
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "application/json" {
		// Anything else, a refusal included, sends the caller to the
		// registry API, whose own answer then says what is wrong.
		return errNotChartd
	}
	// One listing answer is bounded: 1000 charts of full metadata.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}

// maxSearchCharts is the most charts chartd's search API answers at once.
const maxSearchCharts = 1000

func (c *Client) listChartd(ctx context.Context, ns Namespace) (*index.File, error) {
	var found struct {
		Charts *[]struct {
			Name string `json:"name"`
		} `json:"charts"`
	}
	q := url.Values{"repo": {ns.Path}, "devel": {"true"}, "limit": {fmt.Sprint(maxSearchCharts)}}
	if err := c.apiGet(ctx, ns, "/api/v1/search", q, &found); err != nil {
		return nil, err
	}
	if found.Charts == nil {
		return nil, errNotChartd
	}
	if len(*found.Charts) >= maxSearchCharts {
		c.opts.Logger.Warn("the namespace holds more charts than one search answers; listing the first", "namespace", ns.Path, "charts", maxSearchCharts)
	}
	idx := index.New(time.Now())
	for _, ch := range *found.Charts {
		// The versions come a page at a time; next is absent on the last.
		offset := 0
		for {
			var page struct {
				Versions []*index.ChartVersion `json:"versions"`
				Next     *int                  `json:"next"`
			}
			q := url.Values{"repo": {ns.Path}, "limit": {"100"}, "offset": {fmt.Sprint(offset)}}
			if err := c.apiGet(ctx, ns, "/api/v1/charts/"+url.PathEscape(ch.Name), q, &page); err != nil {
				if errors.Is(err, errNotChartd) {
					err = fmt.Errorf("list versions of %s: unexpected answer", ch.Name)
				}
				return nil, err
			}
			for _, cv := range page.Versions {
				if cv == nil || cv.Metadata == nil {
					continue
				}
				cv.URLs = []string{ns.ChartRef(ch.Name) + ":" + VersionToTag(cv.Version)}
				idx.Entries[cv.Name] = append(idx.Entries[cv.Name], cv)
			}
			if page.Next == nil || *page.Next <= offset {
				break
			}
			offset = *page.Next
		}
	}
	idx.SortEntries()
	return idx, nil
}

// forbidden turns a registry's refusal into ErrListingForbidden, with a
// message that names what was refused.
func forbidden(what string, err error) error {
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("%s: %w: it asks for credentials (--username and --password, or helm registry login)", what, ErrListingForbidden)
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
			return fmt.Errorf("%s: %w (%s %d); a repository can still be pulled by its full oci:// reference", what, ErrListingForbidden, resp.Method, resp.StatusCode)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (c *Client) listCatalog(ctx context.Context, ns Namespace) (*index.File, error) {
	reg, err := remote.NewRegistry(ns.Registry)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	reg.PlainHTTP = c.opts.PlainHTTP
	reg.Client = c.auth
	prefix := ""
	if ns.Path != "" {
		prefix = ns.Path + "/"
	}
	var names []string
	err = reg.Repositories(ctx, "", func(repos []string) error {
		for _, r := range repos {
			if rest, ok := strings.CutPrefix(r, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
				names = append(names, rest)
			}
		}
		return nil
	})
	if err != nil {
		return nil, forbidden("list the repositories of "+Scheme+ns.Registry+" (_catalog)", err)
	}
	type job struct {
		chart, tag string
		repo       *remote.Repository
	}
	var jobs []job
	for _, name := range names {
		ref, err := ParseReference(ns.ChartRef(name))
		if err != nil {
			continue
		}
		r, err := c.repository(ref)
		if err != nil {
			return nil, err
		}
		var tags []string
		if err := r.Tags(ctx, "", func(t []string) error { tags = append(tags, t...); return nil }); err != nil {
			return nil, forbidden("list the tags of "+ns.ChartRef(name), err)
		}
		for _, t := range SemverTags(tags) {
			jobs = append(jobs, job{chart: name, tag: t, repo: r})
		}
	}
	idx := index.New(time.Now())
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		sem  = make(chan struct{}, listConcurrency)
	)
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cv, err := c.describe(ctx, j.repo, j.tag)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrNotHelmChart):
				// Not every repository of a namespace holds charts.
				c.opts.Logger.Debug("skip non-chart artifact", "repository", j.chart, "tag", j.tag)
			case err != nil:
				errs = append(errs, fmt.Errorf("%s:%s: %w", ns.ChartRef(j.chart), j.tag, err))
			case cv.Name != j.chart:
				c.opts.Logger.Debug("skip chart whose name is not its repository's", "repository", j.chart, "name", cv.Name)
			default:
				cv.URLs = []string{ns.ChartRef(j.chart) + ":" + j.tag}
				idx.Entries[cv.Name] = append(idx.Entries[cv.Name], cv)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	idx.SortEntries()
	return idx, nil
}

// describe reads the chart metadata of one tag from its config blob, as
// Helm writes it, without downloading the chart.
func (c *Client) describe(ctx context.Context, r *remote.Repository, tag string) (*index.ChartVersion, error) {
	desc, rc, err := r.FetchReference(ctx, tag)
	if err != nil {
		return nil, err
	}
	cm, err := readChartManifest(ctx, r, desc, rc)
	if err != nil {
		return nil, err
	}
	cv := &index.ChartVersion{Metadata: cm.metadata, Digest: cm.layout.Chart.Digest.Encoded()}
	var m ocispec.Manifest
	if json.Unmarshal(cm.raw, &m) == nil {
		if t, err := time.Parse(time.RFC3339, m.Annotations[ocispec.AnnotationCreated]); err == nil {
			cv.Created = t
		}
	}
	return cv, nil
}
