package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// installFlags are the flags install and upgrade share.
type installFlags struct {
	ChartPathOptions
	Values        values.Options
	CreateNS      bool
	DryRun        string
	Description   string
	Labels        map[string]string
	TakeOwnership bool
	Force         bool
	Output        outputFormat
	HideNotes     bool
	SkipCRDs      bool
	SkipSchema    bool
	SubNotes      bool
	EnableDNS     bool
	HideSecret    bool
	// DisableOpenAPI is accepted for Helm's scripts; see bind.
	DisableOpenAPI bool
	waitFlags
	Apply        action.ApplyOptions
	DisableHooks bool
	// DependencyUpdate is --dependency-update.
	DependencyUpdate bool
	PostRender       postRenderFlags
}

func (f *installFlags) renderOptions(env *Env) action.RenderOptions {
	return action.RenderOptions{
		SkipSchemaValidation: f.SkipSchema, SubNotes: f.SubNotes, EnableDNS: f.EnableDNS, HideSecret: f.HideSecret,
		Coalesce: helmLog{env.Err}.coalesce, SkippedHook: helmLog{env.Err}.skippedHook,
		PostRenderer: f.PostRender.renderer(),
	}
}

// bind adds the shared flags; verb ("install" or "upgrade") picks Helm's
// wording for each.
func (f *installFlags) bind(cmd *cobra.Command, env *Env, verb string) {
	fs := cmd.Flags()
	up := verb == "upgrade"
	pick := func(install, upgrade string) string {
		if up {
			return upgrade
		}
		return install
	}
	addValueFlags(cmd, &f.Values)
	addChartPathFlags(fs, &f.ChartPathOptions, env.Lookup)
	fs.BoolVar(&f.Devel, "devel", false, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored")
	fs.BoolVar(&f.CreateNS, "create-namespace", false, pick("create the release namespace if not present", "if --install is set, create the release namespace if not present"))
	fs.StringVar(&f.DryRun, "dry-run", "", "simulate an install. If --dry-run is set with no option being specified or as '--dry-run=client', it will not attempt cluster connections. Setting '--dry-run=server' allows attempting cluster connections.")
	fs.Lookup("dry-run").NoOptDefVal = "client"
	fs.StringVar(&f.Description, "description", "", "add a custom description")
	fs.StringToStringVarP(&f.Labels, "labels", "l", nil, pick("Labels that would be added to release metadata. Should be divided by comma.",
		"Labels that would be added to release metadata. Should be separated by comma. Original release labels will be merged with upgrade labels. You can unset label using null."))
	fs.BoolVar(&f.TakeOwnership, "take-ownership", false, "if set, "+verb+" will ignore the check for helm annotations and take ownership of the existing resources")
	fs.BoolVar(&f.HideNotes, "hide-notes", false, "if set, do not show notes in "+verb+" output. Does not affect presence in chart metadata")
	fs.BoolVar(&f.SkipCRDs, "skip-crds", false, pick("if set, no CRDs will be installed. By default, CRDs are installed if not already present",
		"if set, no CRDs will be installed when an upgrade is performed with install flag enabled. By default, CRDs are installed if not already present, when an upgrade is performed with install flag enabled"))
	fs.BoolVar(&f.SkipSchema, "skip-schema-validation", false, "if set, disables JSON schema validation")
	fs.BoolVar(&f.SubNotes, "render-subchart-notes", false, "if set, render subchart notes along with the parent")
	fs.BoolVar(&f.EnableDNS, "enable-dns", false, "enable DNS lookups when rendering templates")
	fs.BoolVar(&f.HideSecret, "hide-secret", false, "hide Kubernetes Secrets when also using the --dry-run flag")
	// This client never validates against the OpenAPI schema client-side
	// (the apiserver validates every object), so the flag changes nothing.
	fs.BoolVar(&f.DisableOpenAPI, "disable-openapi-validation", false, pick("if set, the installation process will not validate rendered templates against the Kubernetes OpenAPI Schema",
		"if set, the upgrade process will not validate rendered templates against the Kubernetes OpenAPI Schema"))
	f.PostRender.bind(fs, env)
	bindOutputFlag(fs, &f.Output)
	f.bindWait(fs, verb)
	f.bindAtomic(fs, verb)
	fs.BoolVar(&f.DisableHooks, "no-hooks", false, pick("prevent hooks from running during install", "disable pre/post upgrade hooks"))
	fs.BoolVar(&f.DependencyUpdate, "dependency-update", false, "update dependencies if they are missing before installing the chart")
}

func bindForce(fs *pflag.FlagSet, force *bool, usage string) {
	fs.BoolVar(force, "force", false, usage)
	// Helm 4's name for the same thing; hidden, so help reads as Helm 3's.
	fs.BoolVar(force, "force-replace", false, usage)
	_ = fs.MarkHidden("force-replace")
}

func (f *installFlags) validate() error {
	switch f.DryRun {
	case "", action.DryRunNone, "false":
		f.DryRun = ""
	case action.DryRunClient, "true":
		f.DryRun = action.DryRunClient
	case action.DryRunServer:
	default:
		return fmt.Errorf("Invalid dry-run flag. Flag must one of the following: false, true, none, client, server") //nolint:staticcheck // Helm's message
	}
	return nil
}

// chartAndValues loads the chart ref names and merges the values flags:
// what install and upgrade both start from.
func (f *installFlags) chartAndValues(ctx context.Context, env *Env, ref string) (*chart.Chart, values.Values, error) {
	ch, err := loadChart(ctx, env, &f.ChartPathOptions, ref, f.DependencyUpdate)
	if err != nil {
		return nil, nil, err
	}
	vals, err := f.Values.MergeValues(ctx, newValuesReader(env))
	if err != nil {
		return nil, nil, err
	}
	warnDeprecated(env, ch)
	return ch, vals, nil
}

// print shows the resulting release as install and upgrade do.
func (f *installFlags) print(env *Env, rel *release.Release) error {
	return printRelease(env.Out, rel, f.Output, statusOptions{hideNotes: f.HideNotes, debug: env.Settings.Debug})
}

// Install is `helm install [NAME] [CHART]`.
type Install struct {
	Env *Env
	installFlags
	Name         string
	Chart        string
	GenerateName bool
	NameTemplate string
	Replace      bool
}

// Run installs the chart and prints the release.
func (a *Install) Run(ctx context.Context) error {
	if err := a.validate(); err != nil {
		return err
	}
	if a.GenerateName {
		a.Name = generatedName(a.Chart)
	}
	ch, vals, err := a.chartAndValues(ctx, a.Env, a.Chart)
	if err != nil {
		return err
	}
	cfg, err := actionConfig(a.Env)
	if err != nil {
		return err
	}
	act := &action.Install{
		Cfg: cfg, ReleaseName: a.Name, CreateNamespace: a.CreateNS, SkipCRDs: a.SkipCRDs,
		DryRun: a.DryRun, Replace: a.Replace, Description: a.Description, Labels: a.Labels,
		TakeOwnership: a.TakeOwnership, Force: a.Force, Render: a.renderOptions(a.Env), Apply: a.Apply,
		DisableHooks: a.DisableHooks,
	}
	act.Wait, act.WaitForJobs, act.Timeout, act.Atomic = a.Wait, a.WaitForJobs, a.Timeout, a.Atomic
	rel, err := act.Run(ctx, ch, vals)
	if err != nil {
		return err
	}
	return a.print(a.Env, rel)
}

const installDesc = `
This command installs a chart archive.

The install argument must be a chart reference, a path to a packaged chart,
a path to an unpacked chart directory or a URL.

To override values in a chart, use either the '--values' flag and pass in a file
or use the '--set' flag and pass configuration from the command line, to force
a string value use '--set-string'. You can use '--set-file' to set individual
values from a file when the value itself is too long for the command line
or is dynamically generated. You can also use '--set-json' to set json values
(scalars/objects/arrays) from the command line. Additionally, you can use '--set-json' and passing json object as a string.
`

func newInstallCmd(env *Env) *cobra.Command {
	a := &Install{Env: env}
	cmd := &cobra.Command{
		Use:   "install [NAME] [CHART]",
		Short: "install a chart",
		Long:  installDesc,
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 2:
				a.Name, a.Chart = args[0], args[1]
			case a.GenerateName:
				a.Chart = args[0]
			default:
				return errors.New("INSTALLATION FAILED: must either provide a name or specify --generate-name")
			}
			if err := a.Run(cmd.Context()); err != nil {
				return fmt.Errorf("INSTALLATION FAILED: %w", err)
			}
			return nil
		},
	}
	a.bind(cmd, env, "install")
	f := cmd.Flags()
	f.BoolVarP(&a.GenerateName, "generate-name", "g", false, "generate the name (and omit the NAME parameter)")
	f.StringVar(&a.NameTemplate, "name-template", "", "specify template used to name the release")
	f.BoolVar(&a.Replace, "replace", false, "re-use the given name, only if that name is a deleted release which remains in the history. This is unsafe in production")
	bindForce(f, &a.Force, "force resource updates through a replacement strategy")
	bindApplyFlags(cmd, &a.Apply, "install")
	return cmd
}

// Upgrade is `helm upgrade [RELEASE] [CHART]`.
type Upgrade struct {
	Env *Env
	installFlags
	Name, Chart          string
	Install              bool
	ReuseValues          bool
	ResetValues          bool
	ResetThenReuseValues bool
	MaxHistory           int
	CleanupOnFail        bool
}

// Run upgrades (or, with --install, installs) the release.
func (a *Upgrade) Run(ctx context.Context) error {
	if err := a.validate(); err != nil {
		return err
	}
	cfg, err := actionConfig(a.Env)
	if err != nil {
		return err
	}
	cfg.Releases.MaxHistory = a.MaxHistory
	if a.Install {
		h := &action.History{Cfg: cfg, Max: 1}
		versions, err := h.Run(ctx, a.Name)
		// A release uninstalled with --keep-history is installed again,
		// replacing it, as Helm does.
		uninstalled := err == nil && versions[len(versions)-1].Info.Status == release.StatusUninstalled
		if errors.Is(err, action.ErrReleaseNotFound) || uninstalled {
			if a.Output == formatTable {
				fmt.Fprintf(a.Env.Out, "Release %q does not exist. Installing it now.\n", a.Name)
			}
			in := &Install{Env: a.Env, installFlags: a.installFlags, Name: a.Name, Chart: a.Chart, Replace: uninstalled}
			return in.Run(ctx)
		} else if err != nil {
			return err
		}
	}
	ch, vals, err := a.chartAndValues(ctx, a.Env, a.Chart)
	if err != nil {
		return err
	}
	act := &action.Upgrade{
		Cfg: cfg, ReuseValues: a.ReuseValues, ResetValues: a.ResetValues, ResetThenReuseValues: a.ResetThenReuseValues,
		Force: a.Force, TakeOwnership: a.TakeOwnership, DryRun: a.DryRun, Description: a.Description, Labels: a.Labels,
		Render: a.renderOptions(a.Env), Apply: a.Apply, DisableHooks: a.DisableHooks,
	}
	act.Wait, act.WaitForJobs, act.Timeout = a.Wait, a.WaitForJobs, a.Timeout
	act.Atomic, act.CleanupOnFail = a.Atomic, a.CleanupOnFail
	rel, err := act.Run(ctx, a.Name, ch, vals)
	if err != nil {
		return err
	}
	if a.Output == formatTable {
		fmt.Fprintf(a.Env.Out, "Release %q has been upgraded. Happy Helming!\n", a.Name)
	}
	return a.print(a.Env, rel)
}

const upgradeDesc = `
This command upgrades a release to a new version of a chart.

The upgrade arguments must be a release and chart. The chart
argument can be either: a chart reference('example/mariadb'), a path to a chart directory,
a packaged chart, or a fully qualified URL. For chart references, the latest
version will be specified unless the '--version' flag is set.
`

func newUpgradeCmd(env *Env) *cobra.Command {
	a := &Upgrade{Env: env}
	cmd := &cobra.Command{
		Use:   "upgrade [RELEASE] [CHART]",
		Short: "upgrade a release",
		Long:  upgradeDesc,
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name, a.Chart = args[0], args[1]
			if err := a.Run(cmd.Context()); err != nil {
				return fmt.Errorf("UPGRADE FAILED: %w", err)
			}
			return nil
		},
	}
	a.bind(cmd, env, "upgrade")
	f := cmd.Flags()
	f.BoolVarP(&a.Install, "install", "i", false, "if a release by this name doesn't already exist, run an install")
	f.BoolVar(&a.ReuseValues, "reuse-values", false, "when upgrading, reuse the last release's values and merge in any overrides from the command line via --set and -f. If '--reset-values' is specified, this is ignored")
	f.BoolVar(&a.ResetValues, "reset-values", false, "when upgrading, reset the values to the ones built into the chart")
	f.BoolVar(&a.ResetThenReuseValues, "reset-then-reuse-values", false, "when upgrading, reset the values to the ones built into the chart, apply the last release's values and merge in any overrides from the command line via --set and -f. If '--reset-values' or '--reuse-values' is specified, this is ignored")
	f.IntVar(&a.MaxHistory, "history-max", env.Settings.MaxHistory, "limit the maximum number of revisions saved per release. Use 0 for no limit")
	f.BoolVar(&a.CleanupOnFail, "cleanup-on-fail", false, "allow deletion of new resources created in this upgrade when upgrade fails")
	bindForce(f, &a.Force, "force resource updates through a replacement strategy")
	bindApplyFlags(cmd, &a.Apply, "upgrade")
	return cmd
}
