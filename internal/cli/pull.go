package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmpath"
	"github.com/chartd/chartd/repo"
)

// Pull is `helm pull CHART` (alias fetch).
type Pull struct {
	Env *Env
	ChartPathOptions
	Chart    string
	Prov     bool
	Untar    bool
	UntarDir string
	DestDir  string
}

// Run downloads the chart, verifies it when asked, and expands it with --untar.
func (a *Pull) Run(ctx context.Context, out io.Writer) error {
	d := &downloader{env: a.Env, opts: &a.ChartPathOptions, out: a.Env.Err}
	f, err := d.fetch(ctx, a.Chart, a.Prov || a.Verify, a.Verify)
	if err != nil {
		return err
	}
	dest := a.DestDir
	if a.Untar {
		tmp, err := os.MkdirTemp("", "helm-")
		if err != nil {
			return fmt.Errorf("failed to untar: %w", err)
		}
		defer os.RemoveAll(tmp)
		dest = tmp
	}
	saved := filepath.Join(dest, f.Name)
	if err := repo.WriteAtomic(saved, f.Data, 0o644); err != nil {
		return err
	}
	if f.Prov != nil {
		if err := repo.WriteAtomic(saved+".prov", f.Prov, 0o644); err != nil {
			return err
		}
	}
	if a.Verify {
		v, err := verifyArchive(ctx, saved, f.Prov, a.Keyring)
		if err != nil {
			return err
		}
		printVerification(out, v)
	}
	if !a.Untar {
		return nil
	}
	ud := a.UntarDir
	if !filepath.IsAbs(ud) {
		ud = filepath.Join(a.DestDir, ud)
	}
	check := ud
	chartName := path.Base(a.Chart)
	if check == "." {
		check = chartName
	} else {
		check = filepath.Join(check, chartName)
	}
	if _, err := os.Stat(check); err == nil {
		return fmt.Errorf("failed to untar: a file or directory with the name %s already exists", check)
	}
	if err := os.MkdirAll(check, 0o755); err != nil {
		return fmt.Errorf("failed to untar (mkdir): %w", err)
	}
	// The loader's guards and limits, shared with lint, template and show.
	return chart.Expand(ctx, ud, bytes.NewReader(f.Data))
}

// addChartPathFlags binds the chart-locating flags shared by several commands.
func addChartPathFlags(f *pflag.FlagSet, o *ChartPathOptions, lookup helmpath.Lookup) {
	f.StringVar(&o.Version, "version", "", "specify a version constraint for the chart version to use. This constraint can be a specific tag (e.g. 1.1.1) or it may reference a valid range (e.g. ^2.0.0). If this is not specified, the latest version is used")
	f.BoolVar(&o.Verify, "verify", false, "verify the package before using it")
	f.StringVar(&o.Keyring, "keyring", defaultKeyring(lookup), "location of public keys used for verification")
	f.StringVar(&o.RepoURL, "repo", "", "chart repository url where to locate the requested chart")
	f.StringVar(&o.Username, "username", "", "chart repository username where to locate the requested chart")
	f.StringVar(&o.Password, "password", "", "chart repository password where to locate the requested chart")
	f.StringVar(&o.CertFile, "cert-file", "", "identify HTTPS client using this SSL certificate file")
	f.StringVar(&o.KeyFile, "key-file", "", "identify HTTPS client using this SSL key file")
	f.BoolVar(&o.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "skip tls certificate checks for the chart download")
	f.BoolVar(&o.PlainHTTP, "plain-http", false, "use insecure HTTP connections for the chart download")
	f.StringVar(&o.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	f.BoolVar(&o.PassCredentialsAll, "pass-credentials", false, "pass credentials to all domains")
}

const pullDesc = `
Retrieve a package from a package repository, and download it locally.

This is useful for fetching packages to inspect, modify, or repackage. It can
also be used to perform cryptographic verification of a chart without installing
the chart.

There are options for unpacking the chart after download. This will create a
directory for the chart and uncompress into that directory.

If the --verify flag is specified, the requested chart MUST have a provenance
file, and MUST pass the verification process. Failure in any part of this will
result in an error, and the chart will not be saved locally.
`

func newPullCmd(env *Env) *cobra.Command {
	a := &Pull{Env: env}
	cmd := &cobra.Command{
		Use:     "pull [chart URL | repo/chartname] [...]",
		Short:   "download a chart from a repository and (optionally) unpack it in local directory",
		Aliases: []string{"fetch"},
		Long:    pullDesc,
		Args:    minimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, ref := range args {
				a.Chart = ref
				if err := a.Run(cmd.Context(), env.Out); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.Devel, "devel", false, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored.")
	f.BoolVar(&a.Untar, "untar", false, "if set to true, will untar the chart after downloading it")
	f.BoolVar(&a.Prov, "prov", false, "fetch the provenance file, but don't perform verification")
	f.StringVar(&a.UntarDir, "untardir", ".", "if untar is specified, this flag specifies the name of the directory into which the chart is expanded")
	f.StringVarP(&a.DestDir, "destination", "d", ".", "location to write the chart. If this and untardir are specified, untardir is appended to this")
	addChartPathFlags(f, &a.ChartPathOptions, env.Lookup)
	return cmd
}
