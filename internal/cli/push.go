package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/registry"
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
	// cm-push's flags for ChartMuseum-API repositories: a chart directory
	// (or archive) is packaged with these versions, and a token is sent
	// when there are no credentials.
	Version, AppVersion     string
	AccessToken, AuthHeader string
}

// Run pushes the chart.
func (a *Push) Run(ctx context.Context, out io.Writer) error {
	if !registry.IsOCI(a.Remote) {
		return a.pushChartMuseum(ctx, out)
	}
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
	return a.pushOCI(ctx, md, data, prov)
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

const pushDesc = `
Upload a chart to a registry.

If the chart has an associated provenance file,
it will also be uploaded.

REMOTE may also be the name or URL of a ChartMuseum-API chart repository
(such as chartd): the chart is then uploaded through its /api/charts route,
as the cm-push plugin uploads it. There CHART may be a chart directory, which
is packaged first (with --version and --app-version, if given), and the
credentials come from the repository, --username/--password or
$HELM_REPO_USERNAME/$HELM_REPO_PASSWORD, else a token is sent
(--access-token, --auth-header).
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
	f.StringVar(&a.ContextPath, "context-path", "", "ChartMuseum context path (default: serverInfo.contextPath of the index) [$HELM_REPO_CONTEXT_PATH]")
	f.DurationVar(&a.Timeout, "timeout", 30*time.Second, "timeout for the upload (ChartMuseum API repositories)")
	f.StringVar(&a.Version, "version", "", "override the chart version before pushing (ChartMuseum API repositories)")
	f.StringVar(&a.AppVersion, "app-version", "", "override the app version before pushing (ChartMuseum API repositories)")
	f.StringVar(&a.AccessToken, "access-token", "", "send this token in the Authorization header (ChartMuseum API repositories) [$HELM_REPO_ACCESS_TOKEN]")
	f.StringVar(&a.AuthHeader, "auth-header", "", "send the access token in this header instead, as is (ChartMuseum API repositories) [$HELM_REPO_AUTH_HEADER]")
	return cmd
}
