package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/internal/cli/version"
	"github.com/chartd/chartd/internal/helmpath"
)

// EnvAction is `helm env [NAME]`.
type EnvAction struct {
	Settings *helmpath.Settings
	// Vars, when set, are printed instead of Settings.EnvVars() (the CLI
	// resolves HELM_NAMESPACE from the kubeconfig).
	Vars map[string]string
	// Name, when set, prints only that variable's value.
	Name string
}

// Run prints the variables.
func (a *EnvAction) Run(_ context.Context, out io.Writer) error {
	vars := a.Vars
	if vars == nil {
		vars = a.Settings.EnvVars()
	}
	if a.Name != "" {
		fmt.Fprintln(out, vars[a.Name])
		return nil
	}
	for _, k := range helmpath.SortedKeys(vars) {
		fmt.Fprintf(out, "%s=%q\n", k, vars[k])
	}
	return nil
}

func newEnvCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "helm client environment information",
		Long:  "\nEnv prints out all the environment information in use by Helm.\n",
		Args:  maximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return helmpath.SortedKeys(env.Settings.EnvVars()), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			a := &EnvAction{Settings: env.Settings, Vars: helmEnvVars(env)}
			if len(args) == 1 {
				a.Name = args[0]
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
}

// VersionAction is `helm version`.
type VersionAction struct {
	Short    bool
	Template string
}

// Run prints the version.
func (a *VersionAction) Run(_ context.Context, out io.Writer) error {
	v := version.Get()
	if a.Template != "" {
		t, err := template.New("_").Parse(a.Template)
		if err != nil {
			return err
		}
		return t.Execute(out, v)
	}
	if a.Short {
		if len(v.GitCommit) >= 7 {
			fmt.Fprintf(out, "%s+g%s\n", v.Version, v.GitCommit[:7])
		} else {
			fmt.Fprintln(out, v.Version)
		}
		return nil
	}
	fmt.Fprintf(out, "%#v\n", v)
	return nil
}

const versionDesc = `
Show the version for Helm.

This will print a representation the version of Helm.
The output will look something like this:

version.BuildInfo{Version:"v3.2.1", GitCommit:"fe51cd1e31e6a202cba7dead9552a6d418ded79a", GitTreeState:"clean", GoVersion:"go1.13.10"}

- Version is the semantic version of the release.
- GitCommit is the SHA for the commit that this version was built from.
- GitTreeState is "clean" if there are no local code changes when this binary was
  built, and "dirty" if the binary was built from locally modified code.
- GoVersion is the version of Go that was used to compile Helm.

When using the --template flag the following properties are available to use in
the template:

- .Version contains the semantic version of Helm
- .GitCommit is the git commit
- .GitTreeState is the state of the git tree when Helm was built
- .GoVersion contains the version of Go that Helm was compiled with

For example, --template='Version: {{.Version}}' outputs 'Version: v3.2.1'.
`

func newVersionCmd(env *Env) *cobra.Command {
	a := &VersionAction{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the client version information",
		Long:  versionDesc,
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.Run(cmd.Context(), env.Out) },
	}
	f := cmd.Flags()
	f.BoolVar(&a.Short, "short", false, "print the version number")
	f.StringVar(&a.Template, "template", "", "template for version string format")
	f.BoolP("client", "c", true, "display client version information")
	_ = f.MarkHidden("client")
	return cmd
}

// CompletionAction is `helm completion SHELL`.
type CompletionAction struct {
	Root           *cobra.Command
	Shell          string
	NoDescriptions bool
	// Binary is the invoked program name; a renamed binary gets a hook.
	Binary string
}

// Run writes the completion script.
func (a *CompletionAction) Run(_ context.Context, out io.Writer) error {
	switch a.Shell {
	case "bash":
		if err := a.Root.GenBashCompletionV2(out, !a.NoDescriptions); err != nil {
			return err
		}
		if b := filepath.Base(a.Binary); b != "" && b != "helm" && b != "." {
			fmt.Fprintf(out, renamedBinaryHook, b)
		}
		return nil
	case "zsh":
		var err error
		if a.NoDescriptions {
			err = a.Root.GenZshCompletionNoDesc(out)
		} else {
			err = a.Root.GenZshCompletion(out)
		}
		if b := filepath.Base(a.Binary); b != "" && b != "helm" && b != "." {
			fmt.Fprintf(out, "compdef _helm %s\n", b)
		}
		fmt.Fprint(out, "compdef _helm helm")
		return err
	case "fish":
		return a.Root.GenFishCompletion(out, !a.NoDescriptions)
	case "powershell":
		if a.NoDescriptions {
			return a.Root.GenPowerShellCompletion(out)
		}
		return a.Root.GenPowerShellCompletionWithDesc(out)
	}
	return fmt.Errorf("unsupported shell %q", a.Shell)
}

const renamedBinaryHook = `
# Hook the command used to generate the completion script
# to the helm completion function to handle the case where
# the user renamed the helm binary
if [[ $(type -t compopt) = "builtin" ]]; then
    complete -o default -F __start_helm %[1]s
else
    complete -o default -o nospace -F __start_helm %[1]s
fi
`

func newCompletionCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion",
		Short: "generate autocompletion scripts for the specified shell",
		Long:  "\nGenerate autocompletion scripts for Helm for the specified shell.\n",
		Args:  noArgs,
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		a := &CompletionAction{Shell: sh}
		sub := &cobra.Command{
			Use:   sh,
			Short: "generate autocompletion script for " + sh,
			Args:  noArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				a.Root = c.Root()
				a.Binary = env.Settings.Bin
				return a.Run(c.Context(), env.Out)
			},
		}
		sub.Flags().BoolVar(&a.NoDescriptions, "no-descriptions", false, "disable completion descriptions")
		cmd.AddCommand(sub)
	}
	return cmd
}
