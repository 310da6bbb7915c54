// Package cli holds the helm client's commands: one action struct per
// command with its flags bound into it and a Run(ctx, out) method, and the
// cobra tree that wires them with Helm 3's names, flags and messages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chartd/chartd/internal/helmpath"
)

// Env is what every command shares: settings, standard streams and a logger.
type Env struct {
	Settings *helmpath.Settings
	In       io.Reader
	Out      io.Writer
	Err      io.Writer
	Logger   *slog.Logger
	// Lookup reads the environment (os.LookupEnv outside tests).
	Lookup helmpath.Lookup
}

// warn prints Helm's "WARNING: ..." line on stderr.
func (e *Env) warn(format string, a ...any) {
	fmt.Fprintf(e.Err, "WARNING: "+format+"\n", a...)
}

const globalUsage = `The Kubernetes package manager

Common actions for Helm:

- helm search:    search for charts
- helm pull:      download a chart to your local directory to view
- helm install:   upload the chart to Kubernetes
- helm list:      list releases of charts

Environment variables:

| Name                               | Description                                                                                                |
|------------------------------------|------------------------------------------------------------------------------------------------------------|
| $HELM_CACHE_HOME                   | set an alternative location for storing cached files.                                                      |
| $HELM_CONFIG_HOME                  | set an alternative location for storing Helm configuration.                                                |
| $HELM_DATA_HOME                    | set an alternative location for storing Helm data.                                                         |
| $HELM_DEBUG                        | indicate whether or not Helm is running in Debug mode                                                      |
| $HELM_MAX_HISTORY                  | set the maximum number of helm release history.                                                            |
| $HELM_NAMESPACE                    | set the namespace used for the helm operations.                                                            |
| $HELM_NO_PLUGINS                   | disable plugins. Set HELM_NO_PLUGINS=1 to disable plugins.                                                 |
| $HELM_PLUGINS                      | set the path to the plugins directory                                                                      |
| $HELM_REGISTRY_CONFIG              | set the path to the registry config file.                                                                  |
| $HELM_REPOSITORY_CACHE             | set the path to the repository cache directory                                                             |
| $HELM_REPOSITORY_CONFIG            | set the path to the repositories file.                                                                     |

Helm stores cache, configuration, and data based on the following configuration order:

- If a HELM_*_HOME environment variable is set, it will be used
- Otherwise, on systems supporting the XDG base directory specification, the XDG variables will be used
- When no other location is set a default location will be used based on the operating system
`

// NewRootCmd builds the helm command tree.
func NewRootCmd(env *Env) *cobra.Command {
	s := env.Settings
	cmd := &cobra.Command{
		Use:          "helm",
		Short:        "The Helm package manager for Kubernetes.",
		Long:         globalUsage,
		SilenceUsage: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			env.Logger = newLogger(env.Err, s.Debug)
			return checkColorFlag(c.Flags(), s.Color)
		},
	}
	cmd.SetIn(env.In)
	cmd.SetOut(env.Out)
	cmd.SetErr(env.Err)
	f := cmd.PersistentFlags()
	f.StringVarP(&s.Namespace, "namespace", "n", s.Namespace, "namespace scope for this request")
	f.StringVar(&s.KubeConfig, "kubeconfig", "", "path to the kubeconfig file")
	f.StringVar(&s.KubeContext, "kube-context", s.KubeContext, "name of the kubeconfig context to use")
	f.StringVar(&s.KubeToken, "kube-token", s.KubeToken, "bearer token used for authentication")
	f.StringVar(&s.KubeAsUser, "kube-as-user", s.KubeAsUser, "username to impersonate for the operation")
	f.StringArrayVar(&s.KubeAsGroups, "kube-as-group", s.KubeAsGroups, "group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	f.StringVar(&s.KubeAPIServer, "kube-apiserver", s.KubeAPIServer, "the address and the port for the Kubernetes API server")
	f.StringVar(&s.KubeCaFile, "kube-ca-file", s.KubeCaFile, "the certificate authority file for the Kubernetes API server connection")
	f.StringVar(&s.KubeTLSServer, "kube-tls-server-name", s.KubeTLSServer, "server name to use for Kubernetes API server certificate validation. If it is not provided, the hostname used to contact the server is used")
	f.BoolVar(&s.KubeInsecure, "kube-insecure-skip-tls-verify", s.KubeInsecure, "if true, the Kubernetes API server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	f.BoolVar(&s.Debug, "debug", s.Debug, "enable verbose output")
	f.StringVar(&s.RegistryConfig, "registry-config", s.RegistryConfig, "path to the registry config file")
	f.StringVar(&s.RepositoryConfig, "repository-config", s.RepositoryConfig, "path to the file containing repository names and URLs")
	f.StringVar(&s.RepositoryCache, "repository-cache", s.RepositoryCache, "path to the directory containing cached repository indexes")
	f.IntVar(&s.BurstLimit, "burst-limit", s.BurstLimit, "client-side default throttling limit")
	f.Float32Var(&s.QPS, "qps", s.QPS, "queries per second used when communicating with the Kubernetes API, not including bursting")
	bindHelm4Flags(f, s)

	cmd.AddCommand(
		newCreateCmd(env),
		newDependencyCmd(env),
		newPullCmd(env),
		newShowCmd(env),
		newLintCmd(env),
		newPackageCmd(env),
		newRepoCmd(env),
		newSearchCmd(env),
		newVerifyCmd(env),
		newTemplateCmd(env),
		newCompletionCmd(env),
		newEnvCmd(env),
		newVersionCmd(env),
		newRegistryCmd(env),
		newPushCmd(env),
		newInstallCmd(env),
		newUpgradeCmd(env),
		newRollbackCmd(env),
		newUninstallCmd(env),
		newListCmd(env),
		newStatusCmd(env),
		newHistoryCmd(env),
		newGetCmd(env),
		newDiffCmd(env),
		newReleaseTestCmd(env),
		newUnlockCmd(env),
		newPluginCmd(env),
	)
	addPluginCommands(cmd, env)
	registerCompletions(cmd, env)
	return cmd
}

// Main runs helm with args and returns the process exit code. Errors are
// printed by cobra as "Error: ..." on stderr, as Helm does.
func Main(ctx context.Context, args []string, lookup helmpath.Lookup, in io.Reader, out, errOut io.Writer) int {
	s := helmpath.FromEnv(lookup)
	s.Bin = os.Args[0]
	env := &Env{Settings: s, In: in, Out: out, Err: errOut, Logger: slog.New(slog.DiscardHandler), Lookup: lookup}
	cmd := NewRootCmd(env)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		var ce exitCoder
		if errors.As(err, &ce) {
			return ce.ExitCode()
		}
		return 1
	}
	return 0
}

type exitCoder interface{ ExitCode() int }

// Argument validators with Helm's messages.

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%q accepts no arguments\n\nUsage:  %s", cmd.CommandPath(), cmd.UseLine())
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%q requires %d %s\n\nUsage:  %s", cmd.CommandPath(), n, plural("argument", n), cmd.UseLine())
		}
		return nil
	}
}

func maximumNArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return fmt.Errorf("%q accepts at most %d %s\n\nUsage:  %s", cmd.CommandPath(), n, plural("argument", n), cmd.UseLine())
		}
		return nil
	}
}

func minimumNArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return fmt.Errorf("%q requires at least %d %s\n\nUsage:  %s", cmd.CommandPath(), n, plural("argument", n), cmd.UseLine())
		}
		return nil
	}
}

func plural(w string, n int) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

// outputFormat is the -o/--output flag value.
type outputFormat string

const (
	formatTable outputFormat = "table"
	formatJSON  outputFormat = "json"
	formatYAML  outputFormat = "yaml"
)

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(v string) error {
	switch outputFormat(v) {
	case formatTable, formatJSON, formatYAML:
		*o = outputFormat(v)
		return nil
	}
	return fmt.Errorf("invalid format type")
}

func bindOutputFlag(f *pflag.FlagSet, o *outputFormat) {
	*o = formatTable
	f.VarP(o, "output", "o", "prints the output in the specified format. Allowed values: table, json, yaml")
}

// readSecret reads a password from stdin, dropping one trailing newline.
func readSecret(in io.Reader) (string, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
