package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/repo"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// Helm's media types (defined once, in internal/helmoci).
const (
	ConfigMediaType           = helmoci.ConfigMediaType
	ChartLayerMediaType       = helmoci.ChartLayerMediaType
	ProvLayerMediaType        = helmoci.ProvLayerMediaType
	LegacyChartLayerMediaType = helmoci.LegacyChartLayerMediaType
)

// UnderscoreMessage is what Helm prints after a push or pull whose tag holds "_".
const UnderscoreMessage = `
OCI artifact references (e.g. tags) do not support the plus sign (+). To support
storing semantic versions, Helm adopts the convention of changing plus (+) to
an underscore (_) in chart version tags when pushing to a registry and back to
a plus (+) when pulling from a registry.`

// More sentinel errors.
var (
	ErrStrictMode   = errors.New("strict mode enabled, ref basename and tag must match the chart name and version")
	ErrNotHelmChart = helmoci.ErrNotChart
	ErrNoProv       = errors.New("no provenance layer")
)

// Options configure a Client.
type Options struct {
	// CredentialsFile is $HELM_REGISTRY_CONFIG (Docker's config.json format).
	CredentialsFile       string
	PlainHTTP             bool
	InsecureSkipTLSVerify bool
	CertFile, KeyFile     string
	CAFile                string
	// Username and Password, when set, override the stored credentials.
	Username, Password string
	Logger             *slog.Logger
}

// Client talks to OCI registries.
type Client struct {
	opts  Options
	store credentials.Store
	auth  *auth.Client
}

// New builds a Client. The credentials file is created lazily on login.
func New(opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := openStore(opts.CredentialsFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.InsecureSkipTLSVerify || opts.CAFile != "" || opts.CertFile != "" {
		cfg, err := repo.TLSConfig(opts.CertFile, opts.KeyFile, opts.CAFile, opts.InsecureSkipTLSVerify)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	credFn := credentials.Credential(store)
	if opts.Username != "" || opts.Password != "" {
		static := auth.Credential{Username: opts.Username, Password: opts.Password}
		credFn = func(context.Context, string) (auth.Credential, error) { return static, nil }
	}
	c := &Client{opts: opts, store: store}
	c.auth = &auth.Client{
		Client:     &http.Client{Transport: &fallbackTransport{base: tr}},
		Cache:      auth.NewCache(),
		Credential: credFn,
		Header:     http.Header{"User-Agent": {repo.UserAgent}},
	}
	return c, nil
}

// openStore opens the Docker-style credentials file. An empty file (Helm
// creates one sometimes) is treated like a missing one, because the store
// refuses to parse it.
func openStore(path string) (credentials.Store, error) {
	if path == "" {
		return credentials.NewMemoryStore(), nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
			return nil, fmt.Errorf("initialise %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create registry config directory: %w", err)
	}
	s, err := credentials.NewStore(path, credentials.StoreOptions{AllowPlaintextPut: true})
	if err != nil {
		return nil, fmt.Errorf("open registry config %s: %w", path, err)
	}
	return s, nil
}

func stripHost(host string) string {
	for _, p := range []string{Scheme, "http://", "https://"} {
		host = strings.TrimPrefix(host, p)
	}
	if i := strings.Index(host, "/"); i >= 0 {
		host = host[:i]
	}
	return host
}

// Login pings /v2/ with the credentials and stores them on success.
func (c *Client) Login(ctx context.Context, host, username, password string) error {
	host = stripHost(host)
	reg, err := remote.NewRegistry(host)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	reg.PlainHTTP = c.opts.PlainHTTP
	cred := auth.Credential{Username: username, Password: password}
	reg.Client = &auth.Client{
		Client:     c.auth.Client,
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, cred),
		Header:     c.auth.Header,
	}
	err = reg.Ping(ctx)
	if err != nil && !reg.PlainHTTP && c.forcedHTTP() {
		// The registry answered https in plain HTTP and the transport fell
		// back; oras-go does not send credentials across that scheme change,
		// so ask again over http from the start, as Helm 3 does.
		reg.PlainHTTP = true
		err = reg.Ping(ctx)
	}
	if err != nil {
		return fmt.Errorf("authenticating to %q: %w", host, err)
	}
	key := credentials.ServerAddressFromHostname(credentials.ServerAddressFromRegistry(host))
	if err := c.store.Put(ctx, key, cred); err != nil {
		return fmt.Errorf("store credentials: %w", err)
	}
	return nil
}

// forcedHTTP reports whether the transport has fallen back to plain HTTP.
func (c *Client) forcedHTTP() bool {
	ft, ok := c.auth.Client.Transport.(*fallbackTransport)
	return ok && ft.plain.Load()
}

// Logout removes the stored credentials of host.
func (c *Client) Logout(ctx context.Context, host string) error {
	host = stripHost(host)
	key := credentials.ServerAddressFromHostname(credentials.ServerAddressFromRegistry(host))
	if err := c.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("remove credentials: %w", err)
	}
	return nil
}

func (c *Client) repository(ref Reference) (*remote.Repository, error) {
	r, err := remote.NewRepository(ref.Repo())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	r.PlainHTTP = c.opts.PlainHTTP
	r.Client = c.auth
	return r, nil
}

// PushResult describes a pushed chart.
type PushResult struct {
	Ref            string
	ManifestDigest digest.Digest
	ConfigDigest   digest.Digest
	ChartDigest    digest.Digest
	ProvDigest     digest.Digest
}

// Annotations builds the manifest annotations from the chart metadata, as
// Helm does (shared with the server: internal/helmoci).
func Annotations(md *chart.Metadata, created time.Time) map[string]string {
	return helmoci.Annotations(md, created)
}

// Manifest builds Helm's manifest for a chart (and optional provenance),
// in the layout the server uses too (internal/helmoci). The manifest bytes
// are deterministic for the same inputs, so the same package pushed by us
// or by Helm gets the same digest.
func Manifest(md *chart.Metadata, chartData, provData []byte, created time.Time) (manifest, config []byte, layers []ocispec.Descriptor, err error) {
	config, err = helmoci.Config(md)
	if err != nil {
		return nil, nil, nil, err
	}
	var prov *ocispec.Descriptor
	if provData != nil {
		d := content.NewDescriptorFromBytes(ProvLayerMediaType, provData)
		prov = &d
	}
	m := helmoci.Manifest(md, content.NewDescriptorFromBytes(ConfigMediaType, config),
		content.NewDescriptorFromBytes(ChartLayerMediaType, chartData), prov, created)
	manifest, err = json.Marshal(m)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode manifest: %w", err)
	}
	return manifest, config, m.Layers, nil
}

// Push uploads a packaged chart to ref ("oci://host/ns/name:version"; the
// tag must match the chart). created becomes the created annotation; Helm
// uses the archive's modification time.
func (c *Client) Push(ctx context.Context, ref Reference, md *chart.Metadata, chartData, provData []byte, created time.Time) (*PushResult, error) {
	if !strings.HasSuffix("/"+ref.Repository, "/"+md.Name) || TagToVersion(ref.Tag) != md.Version {
		return nil, ErrStrictMode
	}
	manifest, config, layers, err := Manifest(md, chartData, provData, created)
	if err != nil {
		return nil, err
	}
	r, err := c.repository(ref)
	if err != nil {
		return nil, err
	}
	blobs := map[digest.Digest][]byte{}
	res := &PushResult{Ref: ref.Repo() + ":" + ref.Tag}
	for _, l := range layers {
		if l.MediaType == ChartLayerMediaType {
			blobs[l.Digest] = chartData
			res.ChartDigest = l.Digest
		} else {
			blobs[l.Digest] = provData
			res.ProvDigest = l.Digest
		}
	}
	cfgDesc := content.NewDescriptorFromBytes(ConfigMediaType, config)
	blobs[cfgDesc.Digest] = config
	res.ConfigDigest = cfgDesc.Digest
	// Helm's oras.Copy asks for the manifest first; its failure (no
	// credentials, say) is reported in oras' words.
	mDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, manifest)
	if _, err := r.Exists(ctx, mDesc); err != nil {
		return nil, fmt.Errorf("failed to perform \"Exists\" on destination: %w", err)
	}
	for _, d := range append(layers, cfgDesc) {
		ok, err := r.Exists(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", ref.Repo(), err)
		}
		if ok {
			continue
		}
		if err := r.Push(ctx, d, bytes.NewReader(blobs[d.Digest])); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref.Repo(), err)
		}
	}
	if err := r.PushReference(ctx, mDesc, bytes.NewReader(manifest), ref.Tag); err != nil {
		return nil, fmt.Errorf("push %s: %w", ref.Repo(), err)
	}
	res.ManifestDigest = mDesc.Digest
	return res, nil
}

// Tags lists the chart versions in a repository, newest first.
func (c *Client) Tags(ctx context.Context, ref Reference) ([]string, error) {
	r, err := c.repository(ref)
	if err != nil {
		return nil, err
	}
	var tags []string
	if err := r.Tags(ctx, "", func(t []string) error { tags = append(tags, t...); return nil }); err != nil {
		return nil, err // oras names the request, as Helm prints it
	}
	return SemverTags(tags), nil
}

// ResolveVersion fills ref's tag from version: the reference's own tag or
// digest wins, else the exact or newest matching version among the tags.
func (c *Client) ResolveVersion(ctx context.Context, ref Reference, version string) (Reference, error) {
	if ref.Tag != "" || ref.Digest != "" {
		if version != "" && ref.Tag != "" && TagToVersion(ref.Tag) != version {
			if _, err := MatchVersion([]string{TagToVersion(ref.Tag)}, version); err != nil {
				return ref, fmt.Errorf("chart reference and version mismatch: %s is not %s: %w", TagToVersion(ref.Tag), version, ErrNoMatchingTag)
			}
		}
		return ref, nil
	}
	// An exact version is the tag, without listing the tags, as in Helm.
	if _, err := semver.NewVersion(version); version != "" && err == nil {
		ref.Tag = VersionToTag(version)
		return ref, nil
	}
	tags, err := c.Tags(ctx, ref)
	if err != nil {
		return ref, err
	}
	v, err := MatchVersion(tags, version)
	if err != nil {
		return ref, err
	}
	ref.Tag = VersionToTag(v)
	return ref, nil
}

// PullResult is a pulled chart.
type PullResult struct {
	Ref            string
	ManifestDigest digest.Digest
	Metadata       *chart.Metadata
	Chart          []byte
	Prov           []byte
	// Legacy is set when the chart layer used the deprecated media type.
	Legacy bool
}

// Pull fetches the manifest at ref, checks it is a Helm chart, and returns
// the chart layer (and the provenance layer when withProv is set; a missing
// one is then an error wrapping ErrNoProv).
func (c *Client) Pull(ctx context.Context, ref Reference, withProv bool) (*PullResult, error) {
	r, err := c.repository(ref)
	if err != nil {
		return nil, err
	}
	if err := checkTagDigest(ctx, r, ref); err != nil {
		return nil, err
	}
	desc, rc, err := r.FetchReference(ctx, ref.target())
	if err != nil {
		// oras.Copy's wording, which Helm prints.
		return nil, fmt.Errorf("failed to perform \"FetchReference\" on source: %w", err)
	}
	cm, err := readChartManifest(ctx, r, desc, rc)
	if err != nil {
		return nil, err
	}
	l := cm.layout
	// A tag@digest pull is reported by its digest, as Helm reports it.
	pulled := ref
	if pulled.Digest != "" {
		pulled.Tag = ""
	}
	res := &PullResult{Ref: pulled.String(), ManifestDigest: desc.Digest, Legacy: l.Legacy, Metadata: cm.metadata}
	// Layers Helm does not know (l.Other) are ignored, as Helm's pull does.
	chartDesc, provDesc := &l.Chart, l.Prov
	if res.Chart, err = fetchLayer(ctx, r, *chartDesc); err != nil {
		return nil, err
	}
	if withProv {
		if provDesc == nil {
			return nil, fmt.Errorf("manifest does not contain a layer with mediatype %s: %w", ProvLayerMediaType, ErrNoProv)
		}
		if res.Prov, err = fetchLayer(ctx, r, *provDesc); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// chartManifest is a Helm chart's manifest as read: its bytes, its layout
// and the chart metadata of its config blob.
type chartManifest struct {
	raw      []byte
	layout   helmoci.Layout
	metadata *chart.Metadata
}

// readChartManifest reads (and closes) the manifest desc names, checks that
// it is a Helm chart's, and fetches and decodes its config: what a pull and
// a namespace listing both read before they differ.
func readChartManifest(ctx context.Context, r *remote.Repository, desc ocispec.Descriptor, rc io.ReadCloser) (*chartManifest, error) {
	mb, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	l, err := helmoci.ParseManifest(mb)
	if errors.Is(err, helmoci.ErrInvalid) {
		err = fmt.Errorf("%w: %w", ErrNotHelmChart, err)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := content.FetchAll(ctx, r, l.Config)
	if err != nil {
		return nil, fmt.Errorf("fetch config: %w", err)
	}
	md := &chart.Metadata{}
	if err := json.Unmarshal(cfg, md); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return &chartManifest{raw: mb, layout: l, metadata: md}, nil
}

func fetchLayer(ctx context.Context, r *remote.Repository, d ocispec.Descriptor) ([]byte, error) {
	rc, err := r.Fetch(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("fetch layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	b, err := content.ReadAll(io.Reader(rc), d)
	if err != nil {
		return nil, fmt.Errorf("fetch layer %s: %w", d.Digest, err)
	}
	return b, nil
}
