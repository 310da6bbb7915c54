package repo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/chartd/chartd/index"
)

// UserAgent is sent on every request, in Helm's form, so that servers that
// special-case Helm treat us the same.
const UserAgent = "Helm/3.22.0"

// StatusError is a non-200 answer; its text is Helm's.
type StatusError struct {
	URL    string
	Status string
	Code   int
}

func (e *StatusError) Error() string { return fmt.Sprintf("failed to fetch %s : %s", e.URL, e.Status) }

// HTTPOptions configure transport security and credentials for one repository.
type HTTPOptions struct {
	// URL is the repository URL the credentials belong to.
	URL                   string
	Username, Password    string
	PassCredentialsAll    bool
	CertFile, KeyFile     string
	CAFile                string
	InsecureSkipTLSVerify bool
	Timeout               time.Duration
}

// OptionsFor returns the HTTP options of a repositories.yaml entry.
func OptionsFor(e *Entry) HTTPOptions {
	return HTTPOptions{
		URL: e.URL, Username: e.Username, Password: e.Password,
		PassCredentialsAll: e.PassCredentialsAll, CertFile: e.CertFile, KeyFile: e.KeyFile,
		CAFile: e.CAFile, InsecureSkipTLSVerify: e.InsecureSkipTLSVerify,
	}
}

// Getter fetches URLs with one repository's options.
type Getter struct {
	opts   HTTPOptions
	client *http.Client
}

// NewGetter builds the HTTP client: TLS from the CA/cert/key files, and Go's
// transparent gzip (the transport sends Accept-Encoding: gzip and inflates),
// which shrinks big index files several times on the wire.
func NewGetter(opts HTTPOptions) (*Getter, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.CertFile != "" || opts.KeyFile != "" || opts.CAFile != "" || opts.InsecureSkipTLSVerify {
		cfg, err := TLSConfig(opts.CertFile, opts.KeyFile, opts.CAFile, opts.InsecureSkipTLSVerify)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	return &Getter{opts: opts, client: &http.Client{Transport: tr, Timeout: opts.Timeout}}, nil
}

// Client exposes the configured HTTP client (for uploads).
func (g *Getter) Client() *http.Client { return g.client }

// TLSConfig loads a client certificate pair and a CA bundle.
func TLSConfig(certFile, keyFile, caFile string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // the user asked for it
	if certFile != "" && keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("can't load key pair from cert %s and key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("can't read CA file %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("failed to append certificates from file: %s", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Authorize sets basic auth on req when it goes to the repository's own
// scheme and host (port included), or to any host with PassCredentialsAll:
// credentials must not leak to a CDN that serves the tarballs.
func (g *Getter) Authorize(req *http.Request) {
	if g.opts.Username == "" || g.opts.Password == "" {
		return
	}
	if !g.opts.PassCredentialsAll {
		base, err := url.Parse(g.opts.URL)
		if err != nil || base.Scheme != req.URL.Scheme || base.Host != req.URL.Host {
			return
		}
	}
	req.SetBasicAuth(g.opts.Username, g.opts.Password)
}

// Get fetches href and returns the body.
func (g *Getter) Get(ctx context.Context, href string) ([]byte, error) {
	return g.GetWithAccept(ctx, href, "")
}

// GetWithAccept fetches href with an Accept header.
func (g *Getter) GetWithAccept(ctx context.Context, href, accept string) ([]byte, error) {
	b, _, _, err := g.GetConditional(ctx, href, accept, "")
	return b, err
}

// GetConditional fetches href; with etag set it asks the server to answer
// 304 when the resource has not changed, reported as notModified.
func (g *Getter) GetConditional(ctx context.Context, href, accept, etag string) (data []byte, newETag string, notModified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return nil, "", false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", UserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	g.Authorize(req)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, "", false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && etag != "" {
		return nil, etag, true, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", false, &StatusError{URL: href, Status: resp.Status, Code: resp.StatusCode}
	}
	var b bytes.Buffer
	if resp.ContentLength > 0 {
		b.Grow(int(resp.ContentLength))
	}
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return nil, "", false, fmt.Errorf("read %s: %w", href, err)
	}
	return b.Bytes(), resp.Header.Get("ETag"), false, nil
}

// ResolveReferenceURL resolves a chart URL from an index against the
// repository URL the way Helm does: absolute URLs stay, relative ones are
// joined below the repository path (a trailing slash is implied) and the
// repository's query string is kept.
func ResolveReferenceURL(baseURL, refURL string) (string, error) {
	ref, err := url.Parse(refURL)
	if err != nil {
		return "", fmt.Errorf("failed to parse %s as URL: %w", refURL, err)
	}
	if ref.IsAbs() {
		return refURL, nil
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("failed to parse %s as URL: %w", baseURL, err)
	}
	base.RawPath = strings.TrimSuffix(base.RawPath, "/") + "/"
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	u := base.ResolveReference(ref)
	u.RawQuery = base.RawQuery
	return u.String(), nil
}

// FetchIndex downloads and parses the index of the repository at repoURL
// (JSON preferred), for one-off lookups that do not go through the cache.
func (g *Getter) FetchIndex(ctx context.Context, repoURL string) (*index.Compact, error) {
	return FetchIndexWith(ctx, g, repoURL)
}
