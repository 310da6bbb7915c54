package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/internal/plugin"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/repo"
)

// pluginRunner runs plugins with the environment Helm gives them.
func pluginRunner(env *Env) *plugin.Runner {
	return &plugin.Runner{
		Environ: os.Environ(), Vars: helmEnvVars(env),
		Stdin: env.In, Stdout: env.Out, Stderr: env.Err,
	}
}

// helmEnvVars are the variables `helm env` prints and plugins get; Helm's
// namespace is -n, else the kubeconfig context's, else default.
func helmEnvVars(env *Env) map[string]string {
	s := env.Settings
	vars := s.EnvVars()
	vars["HELM_NAMESPACE"] = (&kube.ConfigFlags{Kubeconfig: s.KubeConfig, Context: s.KubeContext, Namespace: s.Namespace}).ResolvedNamespace()
	return vars
}

// installedPlugins reads $HELM_PLUGINS, unless HELM_NO_PLUGINS=1.
func installedPlugins(env *Env) ([]*plugin.Plugin, error) {
	if v, _ := env.Lookup("HELM_NO_PLUGINS"); v == "1" {
		return nil, nil
	}
	return plugin.LoadAll(env.Settings.PluginsDirectory)
}

// loadPlugins reads the installed plugins; like Helm, a broken one is
// reported and no plugin is loaded.
func loadPlugins(env *Env) []*plugin.Plugin {
	found, err := installedPlugins(env)
	if err != nil {
		fmt.Fprintf(env.Err, "failed to load plugins: %s\n", err)
		return nil
	}
	return found
}

// quietPlugins is loadPlugins without the report: Helm's getters and the
// post-renderer lookup say nothing (loading the commands already did).
func quietPlugins(env *Env) []*plugin.Plugin {
	found, err := installedPlugins(env)
	if err != nil {
		return nil
	}
	return found
}

// addPluginCommands makes every installed command plugin a top-level
// command, as Helm does. Flags are not parsed by cobra: Helm's global
// flags among the arguments are applied to the settings (so the plugin
// sees them in HELM_*) and taken out, the rest is passed on.
func addPluginCommands(root *cobra.Command, env *Env) {
	for _, p := range loadPlugins(env) {
		if p.APIVersion != "" && p.Type != plugin.TypeCLI {
			continue
		}
		if c, _, err := root.Find([]string{p.Name}); err == nil && c != root {
			continue // a built-in command keeps its name
		}
		short := p.Usage
		if short == "" {
			short = fmt.Sprintf("the %q plugin", p.Name)
		}
		use := p.Use
		if use == "" {
			use = p.Name
		}
		root.AddCommand(&cobra.Command{
			Use:                use,
			Short:              short,
			Long:               p.Description,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				// Helm parses the whole command line for its global flags
				// first, ignoring the ones it does not know, so that
				// --burst-limit or --qps anywhere reach HELM_*; then it
				// takes out the ones plugins must not see.
				fs := cmd.Parent().Flags()
				fs.ParseErrorsWhitelist.UnknownFlags = true
				_ = cmd.Parent().ParseFlags(args)
				fs.ParseErrorsWhitelist.UnknownFlags = false
				known, rest := splitGlobalFlags(args)
				if err := cmd.Parent().ParseFlags(known); err != nil {
					return err
				}
				return pluginRunner(env).Run(cmd.Context(), p, rest)
			},
		})
	}
}

// globalValueFlags are the global flags Helm takes out of a plugin's
// arguments, with their value (--kube-insecure-skip-tls-verify included,
// as in Helm).
var globalValueFlags = []string{
	"--kube-context", "--namespace", "-n", "--kubeconfig", "--kube-apiserver", "--kube-token", "--kube-as-user",
	"--kube-as-group", "--kube-ca-file", "--registry-config", "--repository-cache", "--repository-config",
	"--kube-insecure-skip-tls-verify", "--kube-tls-server-name",
}

func splitGlobalFlags(args []string) (known, rest []string) {
	known, rest = []string{}, []string{}
	isKnown := func(a string) bool {
		for _, f := range globalValueFlags {
			if a == f {
				return true
			}
		}
		return false
	}
	hasKnownPrefix := func(a string) bool {
		for _, f := range globalValueFlags {
			if strings.HasPrefix(a, f+"=") {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--debug":
			known = append(known, a)
		case isKnown(a):
			known = append(known, a)
			if i++; i < len(args) {
				known = append(known, args[i])
			}
		case hasKnownPrefix(a):
			known = append(known, a)
		default:
			rest = append(rest, a)
		}
	}
	return known, rest
}

func newPluginCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "install, list, or uninstall Helm plugins",
		Long:  "\nManage client-side Helm plugins.\n",
	}
	cmd.AddCommand(newPluginInstallCmd(env), newPluginListCmd(env), newPluginUninstallCmd(env), newPluginUpdateCmd(env))
	return cmd
}

// PluginInstall is `helm plugin install <path|url>`.
type PluginInstall struct {
	Env     *Env
	Source  string
	Version string
	// Verify is Helm 4's --verify: a missing or bad signature is an error.
	Verify  bool
	Keyring string
}

// Run installs the plugin, runs its install hook and says so.
func (a *PluginInstall) Run(ctx context.Context, out io.Writer) error {
	s := a.Env.Settings
	g, err := repo.NewGetter(repo.HTTPOptions{URL: a.Source, Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	in := &plugin.Installer{
		Dir: filepath.SplitList(s.PluginsDirectory)[0], Fetcher: g,
		Verifier: keyringVerifier{path: a.Keyring}, Verify: a.Verify, Out: out, Warn: a.Env.Err,
	}
	p, err := in.Install(ctx, a.Source)
	if err != nil {
		return err
	}
	if err := pluginRunner(a.Env).Hook(ctx, p, plugin.HookInstall); err != nil {
		return err
	}
	fmt.Fprintf(out, "Installed plugin: %s\n", p.Name)
	return nil
}

// keyringVerifier checks plugin archives with the same provenance code as
// charts, against the --keyring file.
type keyringVerifier struct{ path string }

func (k keyringVerifier) VerifyPlugin(ctx context.Context, name string, archive, prov []byte) ([]string, error) {
	v, err := verifyReader(ctx, name, bytes.NewReader(archive), prov, k.path)
	if err != nil {
		return nil, err
	}
	return []string{
		"Signed by: " + v.SignedBy,
		"Using Key With Fingerprint: " + v.Fingerprint,
		"Plugin Hash Verified: " + v.FileHash,
	}, nil
}

func newPluginInstallCmd(env *Env) *cobra.Command {
	a := &PluginInstall{Env: env}
	cmd := &cobra.Command{
		Use:     "install [options] <path|url>",
		Short:   "install a Helm plugin",
		Long:    "\nThis command allows you to install a plugin from a url to a VCS repo or a local path.\n",
		Aliases: []string{"add"},
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Source = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Version, "version", "", "specify a version constraint. If this is not specified, the latest version is installed")
	f.BoolVar(&a.Verify, "verify", false, "verify the plugin signature before installing (a plugin archive's .prov is always checked when present)")
	f.StringVar(&a.Keyring, "keyring", defaultKeyring(env.Lookup), "location of public keys used for verification")
	return cmd
}

func newPluginListCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list installed Helm plugins",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			found, err := plugin.LoadAll(env.Settings.PluginsDirectory)
			if err != nil {
				return err
			}
			t := &table{}
			t.addRow("NAME", "VERSION", "DESCRIPTION")
			for _, p := range found {
				t.addRow(p.Name, p.Version, p.Description)
			}
			return t.write(env.Out)
		},
	}
}

// eachPlugin applies fn to the named plugins and reports failures as Helm
// does: all of them, one per line, after trying every name.
func eachPlugin(env *Env, names []string, verb, done string, fn func(*plugin.Plugin) error) error {
	if len(names) == 0 {
		return fmt.Errorf("please provide plugin name to %s", strings.ToLower(verb))
	}
	found, err := plugin.LoadAll(env.Settings.PluginsDirectory)
	if err != nil {
		return err
	}
	var failed []string
	for _, name := range names {
		p := plugin.Find(found, name)
		if p == nil {
			failed = append(failed, fmt.Sprintf("Plugin: %s not found", name))
			continue
		}
		if err := fn(p); err != nil {
			failed = append(failed, fmt.Sprintf("Failed to %s plugin %s, got error (%v)", strings.ToLower(verb), name, err))
			continue
		}
		fmt.Fprintf(env.Out, "%s plugin: %s\n", done, name)
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "\n"))
	}
	return nil
}

func newPluginUninstallCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "uninstall <plugin>...",
		Aliases: []string{"rm", "remove"},
		Short:   "uninstall one or more Helm plugins",
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachPlugin(env, args, "Uninstall", "Uninstalled", func(p *plugin.Plugin) error {
				if err := plugin.Uninstall(p); err != nil {
					return err
				}
				return pluginRunner(env).Hook(cmd.Context(), p, plugin.HookDelete)
			})
		},
	}
}

func newPluginUpdateCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:     "update <plugin>...",
		Aliases: []string{"up"},
		Short:   "update one or more Helm plugins",
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachPlugin(env, args, "Update", "Updated", func(p *plugin.Plugin) error {
				up, err := plugin.Update(p)
				if err != nil {
					return err
				}
				return pluginRunner(env).Hook(cmd.Context(), up, plugin.HookUpdate)
			})
		},
	}
}
