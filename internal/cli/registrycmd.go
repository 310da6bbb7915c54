package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/registry"
)

func newRegistryCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "login to or logout from a registry",
		Long:  "\nThis command consists of multiple subcommands to interact with registries.\n",
	}
	cmd.AddCommand(newRegistryLoginCmd(env), newRegistryLogoutCmd(env))
	return cmd
}

// RegistryLogin is `helm registry login HOST`.
type RegistryLogin struct {
	Env                *Env
	Host               string
	Username, Password string
	PasswordStdin      bool
	Insecure           bool
	PlainHTTP          bool
	CertFile, KeyFile  string
	CAFile             string
}

// Run pings the registry with the credentials and stores them.
func (a *RegistryLogin) Run(ctx context.Context, out io.Writer) error {
	user, pass, err := a.credentials()
	if err != nil {
		return err
	}
	c, err := registry.New(registry.Options{
		CredentialsFile: a.Env.Settings.RegistryConfig, PlainHTTP: a.PlainHTTP,
		InsecureSkipTLSVerify: a.Insecure, CertFile: a.CertFile, KeyFile: a.KeyFile, CAFile: a.CAFile,
		Logger: a.Env.Logger,
	})
	if err != nil {
		return err
	}
	if err := c.Login(ctx, a.Host, user, pass); err != nil {
		return err
	}
	// Helm's registry client reports on stderr.
	fmt.Fprintln(a.Env.Err, "Login Succeeded")
	return nil
}

func newRegistryLoginCmd(env *Env) *cobra.Command {
	a := &RegistryLogin{Env: env}
	cmd := &cobra.Command{
		Use:   "login [host]",
		Short: "login to a registry",
		Long:  "\nAuthenticate to a remote registry.\n",
		Args:  minimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Host = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&a.Username, "username", "u", "", "registry username")
	f.StringVarP(&a.Password, "password", "p", "", "registry password or identity token")
	f.BoolVarP(&a.PasswordStdin, "password-stdin", "", false, "read password or identity token from stdin")
	f.BoolVarP(&a.Insecure, "insecure", "", false, "allow connections to TLS registry without certs")
	f.StringVar(&a.CertFile, "cert-file", "", "identify registry client using this SSL certificate file")
	f.StringVar(&a.KeyFile, "key-file", "", "identify registry client using this SSL key file")
	f.StringVar(&a.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	f.BoolVar(&a.PlainHTTP, "plain-http", false, "use insecure HTTP connections for the chart upload")
	return cmd
}

// RegistryLogout is `helm registry logout HOST`.
type RegistryLogout struct {
	Env  *Env
	Host string
}

// Run removes the stored credentials; like Helm it succeeds when there
// were none.
func (a *RegistryLogout) Run(ctx context.Context, _ io.Writer) error {
	c, err := registry.New(registry.Options{CredentialsFile: a.Env.Settings.RegistryConfig, Logger: a.Env.Logger})
	if err != nil {
		return err
	}
	if err := c.Logout(ctx, a.Host); err != nil {
		return err
	}
	fmt.Fprintf(a.Env.Err, "Removing login credentials for %s\n", strings.TrimPrefix(a.Host, registry.Scheme))
	return nil
}

func newRegistryLogoutCmd(env *Env) *cobra.Command {
	a := &RegistryLogout{Env: env}
	return &cobra.Command{
		Use:   "logout [host]",
		Short: "logout from a registry",
		Long:  "\nRemove credentials stored for a remote registry.\n",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Host = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
}
