package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/provenance"
)

// ErrInvalidVersion is --version's error; the text is Helm's.
var ErrInvalidVersion = errors.New("Invalid Semantic Version") //nolint:staticcheck // Helm's text

// Package is `helm package CHART_PATH...`.
type Package struct {
	Env              *Env
	Paths            []string
	Version          string
	AppVersion       string
	Destination      string
	DependencyUpdate bool
	Sign             bool
	Key              string
	Keyring          string
	PassphraseFile   string
	ChartPathOptions
}

// Run packages each chart directory.
func (a *Package) Run(ctx context.Context, out io.Writer) error {
	for _, p := range a.Paths {
		if err := a.one(ctx, out, p); err != nil {
			return err
		}
	}
	return nil
}

func (a *Package) one(ctx context.Context, out io.Writer, p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	if a.DependencyUpdate {
		du := &DependencyUpdate{Env: a.Env, ChartPath: abs, Keyring: a.Keyring, ChartPathOptions: a.ChartPathOptions}
		// Helm keeps the dependency update quiet here.
		if err := du.Run(ctx, io.Discard); err != nil {
			return err
		}
	}
	ch, err := chart.LoadDir(ctx, abs)
	if err != nil {
		return err
	}
	if a.Version != "" {
		if _, err := semver.StrictNewVersion(a.Version); err != nil {
			return ErrInvalidVersion
		}
		ch.Metadata.Version = a.Version
	}
	if a.AppVersion != "" {
		ch.Metadata.AppVersion = a.AppVersion
	}
	epoch, err := sourceDateEpoch(a.Env.Lookup)
	if err != nil {
		return err
	}
	if epoch != nil {
		ch.StampModTimes(*epoch)
	}
	if len(ch.Metadata.Dependencies) > 0 {
		if err := render.CheckDependencies(ch); err != nil {
			return err
		}
	}
	dest := a.Destination
	if dest == "." {
		if dest, err = os.Getwd(); err != nil {
			return err
		}
	}
	name, err := chart.Save(ctx, ch, dest)
	if err != nil {
		return fmt.Errorf("failed to save: %w", err)
	}
	if a.Sign {
		if err := a.sign(ctx, ch.Metadata, name); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Successfully packaged chart and saved it to: %s\n", name)
	return nil
}

// sign writes <archive>.prov with the key named --key from --keyring.
func (a *Package) sign(ctx context.Context, md *chart.Metadata, archive string) error {
	kf, err := os.Open(a.Keyring)
	if err != nil {
		return err
	}
	ring, err := provenance.ReadKeyring(kf)
	kf.Close()
	if err != nil {
		return err
	}
	var pass []byte
	switch a.PassphraseFile {
	case "":
	case "-":
		s, err := readSecret(a.Env.In)
		if err != nil {
			return err
		}
		pass = []byte(s)
	default:
		b, err := os.ReadFile(a.PassphraseFile)
		if err != nil {
			return err
		}
		pass = []byte(strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"))
	}
	signer, err := provenance.NewSigner(ring, a.Key, pass)
	if err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	sig, err := signer.Sign(ctx, md, filepath.Base(archive), f)
	if err != nil {
		return err
	}
	return os.WriteFile(archive+".prov", sig, 0o644)
}

const packageDesc = `
This command packages a chart into a versioned chart archive file. If a path
is given, this will look at that path for a chart (which must contain a
Chart.yaml file) and then package that directory.

Versioned chart archives are used by Helm package repositories.

To sign a chart, use the '--sign' flag. In most cases, you should also
provide '--keyring path/to/secret/keys' and '--key keyname'.

  $ helm package --sign ./mychart --key mykey --keyring ~/.gnupg/secring.gpg

If '--keyring' is not specified, Helm usually defaults to the public keyring
unless your environment is otherwise configured.
`

func newPackageCmd(env *Env) *cobra.Command {
	a := &Package{Env: env}
	cmd := &cobra.Command{
		Use:   "package [CHART_PATH] [...]",
		Short: "package a chart directory into a chart archive",
		Long:  packageDesc,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("need at least one argument, the path to the chart")
			}
			if a.Sign {
				if a.Key == "" {
					return errors.New("--key is required for signing a package")
				}
				if a.Keyring == "" {
					return errors.New("--keyring is required for signing a package")
				}
			}
			a.Paths = args
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.Sign, "sign", false, "use a PGP private key to sign this package")
	f.StringVar(&a.Key, "key", "", "name of the key to use when signing. Used if --sign is true")
	f.StringVar(&a.Keyring, "keyring", defaultKeyring(env.Lookup), "location of a public keyring")
	f.StringVar(&a.PassphraseFile, "passphrase-file", "", `location of a file which contains the passphrase for the signing key. Use "-" in order to read from stdin.`)
	f.StringVar(&a.Version, "version", "", "set the version on the chart to this semver version")
	f.StringVar(&a.AppVersion, "app-version", "", "set the appVersion on the chart to this version")
	f.StringVarP(&a.Destination, "destination", "d", ".", "location to write the chart.")
	f.BoolVarP(&a.DependencyUpdate, "dependency-update", "u", false, `update dependencies from "Chart.yaml" to dir "charts/" before packaging`)
	f.StringVar(&a.Username, "username", "", "chart repository username where to locate the requested chart")
	f.StringVar(&a.Password, "password", "", "chart repository password where to locate the requested chart")
	f.StringVar(&a.CertFile, "cert-file", "", "identify HTTPS client using this SSL certificate file")
	f.StringVar(&a.KeyFile, "key-file", "", "identify HTTPS client using this SSL key file")
	f.BoolVar(&a.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "skip tls certificate checks for the chart download")
	f.BoolVar(&a.PlainHTTP, "plain-http", false, "use insecure HTTP connections for the chart download")
	f.StringVar(&a.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	return cmd
}

// Verify is `helm verify PATH`.
type Verify struct {
	Env     *Env
	Path    string
	Keyring string
}

// Run verifies the archive against PATH.prov.
func (a *Verify) Run(ctx context.Context, out io.Writer) error {
	fi, err := os.Stat(a.Path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("unpacked charts cannot be verified")
	}
	if !strings.HasSuffix(a.Path, ".tgz") && !strings.HasSuffix(a.Path, ".tar.gz") {
		return errors.New("chart must be a tgz file")
	}
	prov, err := os.ReadFile(a.Path + ".prov")
	if err != nil {
		return fmt.Errorf("could not load provenance file %s.prov: %w", a.Path, err)
	}
	v, err := verifyArchive(ctx, a.Path, prov, a.Keyring)
	if err != nil {
		return err
	}
	printVerification(out, v)
	return nil
}

func newVerifyCmd(env *Env) *cobra.Command {
	a := &Verify{Env: env}
	cmd := &cobra.Command{
		Use:   "verify PATH",
		Short: "verify that a chart at the given path has been signed and is valid",
		Long:  "\nVerify that the given chart has a valid provenance file.\n\nProvenance files provide cryptographic verification that a chart has not been\ntampered with, and was packaged by a trusted provider.\n\nThis command can be used to verify a local chart. Several other commands provide\n'--verify' flags that run the same validation. To generate a signed package, use\nthe 'helm package --sign' command.\n",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Path = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	cmd.Flags().StringVar(&a.Keyring, "keyring", defaultKeyring(env.Lookup), "keyring containing public keys")
	return cmd
}
