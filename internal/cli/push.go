package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// UploadError is a failed ChartMuseum-API upload; the text is the
// cm-push plugin's: "<status>: <server's error>".
type UploadError struct {
	Code    int
	Message string
}

func (e *UploadError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Push is `helm push CHART REMOTE`: REMOTE is oci://host/ns, or a configured
// repository name or URL of a ChartMuseum-API server (chartd).
type Push struct {
	Env                   *Env
	Chart, Remote         string
	Username, Password    string
	CertFile, KeyFile     string
	CAFile                string
	InsecureSkipTLSVerify bool
	PlainHTTP             bool
	// Force overwrites an existing version (ChartMuseum API only).
	Force bool
	// ContextPath overrides serverInfo.contextPath (ChartMuseum API only).
	ContextPath string
	Timeout     time.Duration
}

// Run pushes the chart.
func (a *Push) Run(ctx context.Context, out io.Writer) error {
	data, err := os.ReadFile(a.Chart)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such file", a.Chart) // Helm's words
	}
	if err != nil {
		return err
	}
	if err := chart.CheckArchiveFile(a.Chart, data); err != nil {
		return err
	}
	info, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(data), chart.Limits{})
	if err != nil {
		return err
	}
	md := info.Metadata
	var prov []byte
	if p, err := os.ReadFile(a.Chart + ".prov"); err == nil {
		prov = p
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if registry.IsOCI(a.Remote) {
		return a.pushOCI(ctx, md, data, prov)
	}
	return a.pushChartMuseum(ctx, out, data, prov)
}

func (a *Push) pushOCI(ctx context.Context, md *chart.Metadata, data, prov []byte) error {
	remote := strings.TrimSuffix(a.Remote, "/")
	// The full reference first: a bad remote then fails with the text Helm
	// prints, which names the whole reference.
	ref, err := registry.ParseReference(remote + "/" + md.Name + ":" + registry.VersionToTag(md.Version))
	if err != nil {
		return err
	}
	if r, err := registry.ParseReference(remote + "/" + md.Name); err != nil {
		return err
	} else if r.Tag != "" || r.Digest != "" {
		return fmt.Errorf("%w: remote must not contain a tag or digest", registry.ErrInvalidReference)
	}
	fi, err := os.Stat(a.Chart)
	if err != nil {
		return err
	}
	c, err := registry.New(registry.Options{
		CredentialsFile: a.Env.Settings.RegistryConfig, PlainHTTP: a.PlainHTTP,
		InsecureSkipTLSVerify: a.InsecureSkipTLSVerify, CertFile: a.CertFile, KeyFile: a.KeyFile, CAFile: a.CAFile,
		Username: a.Username, Password: a.Password, Logger: a.Env.Logger,
	})
	if err != nil {
		return err
	}
	res, err := c.Push(ctx, ref, md, data, prov, fi.ModTime())
	if err != nil {
		return err
	}
	// Helm's registry client reports on stderr.
	w := a.Env.Err
	fmt.Fprintf(w, "Pushed: %s\n", res.Ref)
	fmt.Fprintf(w, "Digest: %s\n", res.ManifestDigest)
	if strings.Contains(ref.Tag, "_") {
		fmt.Fprintf(w, "%s contains an underscore.\n", res.Ref)
		fmt.Fprint(w, registry.UnderscoreMessage+"\n")
	}
	return nil
}

var httpURL = regexp.MustCompile(`^https?://`)

// pushChartMuseum is the cm-push plugin's behaviour, built in: find the
// server's context path in its index, then POST the archive (and .prov) as
// multipart fields "chart" and "prov" to <ctx>/api/<repo path>/charts.
func (a *Push) pushChartMuseum(ctx context.Context, out io.Writer, data, prov []byte) error {
	e := &repo.Entry{Name: a.Remote, URL: a.Remote}
	if !httpURL.MatchString(a.Remote) {
		f, _ := repo.LoadFile(a.Env.Settings.RepositoryConfig)
		if e = f.Get(a.Remote); e == nil {
			return fmt.Errorf("no repo named %q found", a.Remote)
		}
	}
	opts := repo.OptionsFor(e)
	opts.Timeout = a.Timeout
	if a.Username != "" {
		opts.Username = a.Username
	}
	if a.Password != "" {
		opts.Password = a.Password
	}
	if a.CertFile != "" || a.KeyFile != "" || a.CAFile != "" {
		opts.CertFile, opts.KeyFile, opts.CAFile = a.CertFile, a.KeyFile, a.CAFile
	}
	opts.InsecureSkipTLSVerify = opts.InsecureSkipTLSVerify || a.InsecureSkipTLSVerify
	// The upload goes to the same host: always send the credentials.
	opts.PassCredentialsAll = true
	g, err := repo.NewGetter(opts)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(e.URL, "/")
	contextPath := a.ContextPath
	if contextPath == "" {
		idx, err := g.FetchIndex(ctx, base)
		if err != nil {
			return err
		}
		contextPath = idx.ContextPath
	}
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("invalid repository URL %q: %w", base, err)
	}
	u.Path = path.Join("/", contextPath, "api", strings.TrimPrefix(u.Path, contextPath), "charts")
	u.RawPath = ""
	if a.Force {
		u.RawQuery = "force"
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	name := filepath.Base(a.Chart)
	if err := addFormFile(mw, "chart", name, data); err != nil {
		return err
	}
	if prov != nil {
		if err := addFormFile(mw, "prov", name+".prov", prov); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", repo.UserAgent)
	g.Authorize(req)
	fmt.Fprintf(out, "Pushing %s to %s...\n", name, a.Remote)
	resp, err := g.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var cmErr struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &cmErr) != nil || cmErr.Error == "" {
			return &UploadError{Code: resp.StatusCode, Message: "could not properly parse response JSON: " + string(b)}
		}
		return &UploadError{Code: resp.StatusCode, Message: cmErr.Error}
	}
	fmt.Fprintln(out, "Done.")
	return nil
}

func addFormFile(mw *multipart.Writer, field, name string, data []byte) error {
	w, err := mw.CreateFormFile(field, name)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

const pushDesc = `
Upload a chart to a registry.

If the chart has an associated provenance file,
it will also be uploaded.

REMOTE may also be the name or URL of a ChartMuseum-API chart repository
(such as chartd): the chart is then uploaded through its /api/charts route.
`

func newPushCmd(env *Env) *cobra.Command {
	a := &Push{Env: env}
	cmd := &cobra.Command{
		Use:   "push [chart] [remote]",
		Short: "push a chart to remote",
		Long:  pushDesc,
		Args:  minimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Chart, a.Remote = args[0], args[1]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.CertFile, "cert-file", "", "identify registry client using this SSL certificate file")
	f.StringVar(&a.KeyFile, "key-file", "", "identify registry client using this SSL key file")
	f.StringVar(&a.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	f.BoolVar(&a.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "skip tls certificate checks for the chart upload")
	f.BoolVar(&a.PlainHTTP, "plain-http", false, "use insecure HTTP connections for the chart upload")
	f.StringVar(&a.Username, "username", "", "chart repository username where to locate the requested chart")
	f.StringVar(&a.Password, "password", "", "chart repository password where to locate the requested chart")
	f.BoolVarP(&a.Force, "force", "f", false, "force upload even if chart version exists (ChartMuseum API repositories)")
	f.StringVar(&a.ContextPath, "context-path", "", "ChartMuseum context path (default: serverInfo.contextPath of the index)")
	f.DurationVar(&a.Timeout, "timeout", 30*time.Second, "timeout for the upload (ChartMuseum API repositories)")
	return cmd
}
