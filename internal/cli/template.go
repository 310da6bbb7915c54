package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

// Template is `helm template [NAME] CHART`.
type Template struct {
	Env *Env
	ChartPathOptions
	Values       values.Options
	Name         string
	Chart        string
	GenerateName bool
	ShowOnly     []string
	OutputDir    string
	ReleaseDir   bool
	IncludeCRDs  bool
	SkipTests    bool
	NoHooks      bool
	IsUpgrade    bool
	KubeVersion  string
	APIVersions  []string
	SkipSchema   bool
	SubNotes     bool
	EnableDNS    bool
	NameTemplate string
	Validate     bool
	PostRender   postRenderFlags
	// Install holds the install flags template shares with install, as in
	// Helm: template is an install with --dry-run=client (server with
	// --validate), so they act as in install's dry run.
	Install struct {
		atomic, createNamespace, dependencyUpdate, disableOpenAPI, force, hideNotes bool
		replace, skipCRDs, takeOwnership, wait, waitForJobs                         bool
		description, dryRun                                                         string
		labels                                                                      map[string]string
		timeout                                                                     time.Duration
	}
}

// errNotImplemented marks a flag this client accepts, as Helm does, but
// cannot honour yet: refusing it beats rendering something other than what
// the flag asks for.
var errNotImplemented = errors.New("not implemented")

// Run renders the chart as Helm's template does, through an install dry
// run, and prints the manifests like Helm.
func (a *Template) Run(ctx context.Context, out io.Writer) error {
	// Template's dry run is client (server with --validate) whatever
	// --dry-run says, but the value must still be one Helm knows.
	if err := (&installFlags{DryRun: a.Install.dryRun}).validate(); err != nil {
		return err
	}
	name := a.Name
	if a.GenerateName {
		base := strings.TrimSuffix(filepath.Base(a.Chart), ".tgz")
		base = regexp.MustCompile(`[^-a-z0-9]+`).ReplaceAllString(strings.ToLower(base), "")
		name = fmt.Sprintf("%s-%d", base, time.Now().Unix())
	}
	if a.NameTemplate != "" {
		t, err := template.New("name-template").Funcs(engine.FuncMap()).Parse(a.NameTemplate)
		if err != nil {
			return err
		}
		var b strings.Builder
		if err := t.Execute(&b, nil); err != nil {
			return err
		}
		name = b.String()
	}
	if name == "" {
		name = render.TemplateReleaseName
	}
	var kv *engine.KubeVersion
	if a.KubeVersion != "" {
		v, err := engine.ParseKubeVersion(a.KubeVersion)
		if err != nil {
			return fmt.Errorf("invalid kube version '%s': %w", a.KubeVersion, err)
		}
		kv = v
	}
	p, err := locateInstallChart(ctx, a.Env, &a.ChartPathOptions, a.Chart)
	if err != nil {
		return err
	}
	vals, err := a.Values.MergeValues(ctx, newValuesReader(a.Env))
	if err != nil {
		return err
	}
	ch, err := a.loadWithDependencies(ctx, out, p)
	if err != nil {
		return err
	}
	warnDeprecated(a.Env, ch)
	// The name is checked at Helm's point in the pipeline: after the chart
	// is found, installable and its dependencies are present.
	if err := checkInstallable(ch); err != nil {
		return err
	}
	if err := render.ValidateReleaseName(name); err != nil {
		return err
	}

	cfg, dryRun, err := a.config()
	if err != nil {
		return err
	}
	c := &a.Install
	act := &action.Install{
		Cfg: cfg, ReleaseName: name, DryRun: dryRun, Replace: true, SkipCRDs: c.skipCRDs,
		Description: c.description, Labels: c.labels, TakeOwnership: c.takeOwnership, Force: c.force,
		CreateNamespace: c.createNamespace,
		Render: action.RenderOptions{
			SkipSchemaValidation: a.SkipSchema, SubNotes: a.SubNotes, EnableDNS: a.EnableDNS,
			KubeVersion: kv, APIVersions: a.APIVersions, IsUpgrade: a.IsUpgrade,
			Coalesce: helmLog{a.Env.Err}.coalesce, SkippedHook: helmLog{a.Env.Err}.skippedHook,
		},
	}
	po := render.PrintOptions{
		ShowOnly: a.ShowOnly, OutputDir: a.OutputDir, UseReleaseName: a.ReleaseDir,
		IncludeCRDs: a.IncludeCRDs, SkipTests: a.SkipTests, DisableHooks: a.NoHooks,
	}
	_, err = act.Run(ctx, ch, vals)
	if err == nil {
		// Post-rendered here, not in the install, because what the
		// post-renderer gets depends on how template prints (--output-dir,
		// --include-crds), as in Helm.
		err = a.postRender(ctx, act.Rendered, po)
	}
	if err != nil {
		if a.Env.Settings.Debug {
			// --debug prints what rendered, even output that is not
			// valid YAML, and still fails.
			if res := act.Rendered; res != nil {
				fmt.Fprintln(out, strings.TrimSpace(debugManifest(res)))
			}
			return err
		}
		return render.TemplateCommandError(err)
	}
	return render.Print(out, act.Rendered, po)
}

func addValueFlags(cmd *cobra.Command, v *values.Options) {
	f := cmd.Flags()
	f.StringSliceVarP(&v.ValueFiles, "values", "f", nil, "specify values in a YAML file or a URL (can specify multiple)")
	f.StringArrayVar(&v.Values, "set", nil, "set values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)")
	f.StringArrayVar(&v.StringValues, "set-string", nil, "set STRING values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)")
	f.StringArrayVar(&v.FileValues, "set-file", nil, "set values from respective files specified via the command line (can specify multiple or separate values with commas: key1=path1,key2=path2)")
	f.StringArrayVar(&v.JSONValues, "set-json", nil, "set JSON values on the command line (can specify multiple or separate values with commas: key1=jsonval1,key2=jsonval2)")
	f.StringArrayVar(&v.LiteralValues, "set-literal", nil, "set a literal STRING value on the command line")
}

const templateDesc = `
Render chart templates locally and display the output.

Any values that would normally be looked up or retrieved in-cluster will be
faked locally. Additionally, none of the server-side testing of chart validity
(e.g. whether an API is supported) is done.
`

func newTemplateCmd(env *Env) *cobra.Command {
	a := &Template{Env: env}
	cmd := &cobra.Command{
		Use:   "template [NAME] [CHART]",
		Short: "locally render templates",
		Long:  templateDesc,
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				a.Name, a.Chart = args[0], args[1]
			} else {
				a.Chart = args[0]
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	addValueFlags(cmd, &a.Values)
	addChartPathFlags(f, &a.ChartPathOptions, env.Lookup)
	f.BoolVar(&a.Devel, "devel", false, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored")
	f.BoolVarP(&a.GenerateName, "generate-name", "g", false, "generate the name (and omit the NAME parameter)")
	f.StringArrayVarP(&a.ShowOnly, "show-only", "s", nil, "only show manifests rendered from the given templates")
	f.StringVar(&a.OutputDir, "output-dir", "", "writes the executed templates to files in output-dir instead of stdout")
	f.BoolVar(&a.ReleaseDir, "release-name", false, "use release name in the output-dir path.")
	f.BoolVar(&a.IncludeCRDs, "include-crds", false, "include CRDs in the templated output")
	f.BoolVar(&a.SkipTests, "skip-tests", false, "skip tests from templated output")
	f.BoolVar(&a.NoHooks, "no-hooks", false, "prevent hooks from running during install")
	f.BoolVar(&a.IsUpgrade, "is-upgrade", false, "set .Release.IsUpgrade instead of .Release.IsInstall")
	f.StringVar(&a.KubeVersion, "kube-version", "", "Kubernetes version used for Capabilities.KubeVersion")
	f.StringSliceVarP(&a.APIVersions, "api-versions", "a", nil, "Kubernetes api versions used for Capabilities.APIVersions")
	f.BoolVar(&a.SkipSchema, "skip-schema-validation", false, "if set, disables JSON schema validation")
	f.BoolVar(&a.SubNotes, "render-subchart-notes", false, "if set, render subchart notes along with the parent")
	f.BoolVar(&a.EnableDNS, "enable-dns", false, "enable DNS lookups when rendering templates")
	f.StringVar(&a.NameTemplate, "name-template", "", "specify template used to name the release")
	f.BoolVar(&a.Validate, "validate", false, "validate your manifests against the Kubernetes cluster you are currently pointing at. This is the same validation performed on an install")
	c := &a.Install
	f.BoolVar(&c.atomic, "atomic", false, "if set, the installation process deletes the installation on failure. The --wait flag will be set automatically if --atomic is used")
	f.BoolVar(&c.createNamespace, "create-namespace", false, "create the release namespace if not present")
	f.BoolVar(&c.dependencyUpdate, "dependency-update", false, "update dependencies if they are missing before installing the chart")
	f.StringVar(&c.description, "description", "", "add a custom description")
	f.BoolVar(&c.disableOpenAPI, "disable-openapi-validation", false, "if set, the installation process will not validate rendered templates against the Kubernetes OpenAPI Schema")
	f.StringVar(&c.dryRun, "dry-run", "", "simulate an install. If --dry-run is set with no option being specified or as '--dry-run=client', it will not attempt cluster connections. Setting '--dry-run=server' allows attempting cluster connections.")
	f.Lookup("dry-run").NoOptDefVal = "client"
	f.BoolVar(&c.force, "force", false, "force resource updates through a replacement strategy")
	f.BoolVar(&c.hideNotes, "hide-notes", false, "if set, do not show notes in install output. Does not affect presence in chart metadata")
	f.StringToStringVarP(&c.labels, "labels", "l", nil, "Labels that would be added to release metadata. Should be divided by comma.")
	a.PostRender.bind(f, env)
	f.BoolVar(&c.replace, "replace", false, "re-use the given name, only if that name is a deleted release which remains in the history. This is unsafe in production")
	f.BoolVar(&c.skipCRDs, "skip-crds", false, "if set, no CRDs will be installed. By default, CRDs are installed if not already present")
	f.BoolVar(&c.takeOwnership, "take-ownership", false, "if set, install will ignore the check for helm annotations and take ownership of the existing resources")
	f.DurationVar(&c.timeout, "timeout", 300*time.Second, "time to wait for any individual Kubernetes operation (like Jobs for hooks)")
	f.BoolVar(&c.wait, "wait", false, "if set, will wait until all Pods, PVCs, Services, and minimum number of Pods of a Deployment, StatefulSet, or ReplicaSet are in a ready state before marking the release as successful. It will wait for as long as --timeout")
	f.BoolVar(&c.waitForJobs, "wait-for-jobs", false, "if set and --wait enabled, will wait until all Jobs have been completed before marking the release as successful. It will wait for as long as --timeout")
	return cmd
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo {
			return minimumNArgs(lo)(cmd, args)
		}
		return maximumNArgs(hi)(cmd, args)
	}
}
