package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/values"
)

// diffFlags are what the diff subcommands share, helm-diff's names.
type diffFlags struct {
	action.DiffOptions
	DetailedExitCode bool
	// Context is the number of unchanged lines around a change; -1 (the
	// default, as in helm-diff) shows whole objects.
	Context int
	// Output is helm-diff's --output: diff (default) or simple.
	Output string
	// accepted for helm-diff's scripts; see bind.
	noColor, threeWay bool
}

func (f *diffFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&f.DetailedExitCode, "detailed-exitcode", false, "return a non-zero exit code when there are changes")
	fs.BoolVar(&f.ShowSecrets, "show-secrets", false, "do not redact secret values in the output")
	fs.BoolVar(&f.NoHooks, "no-hooks", false, "disable diffing of hooks")
	fs.BoolVar(&f.IncludeTests, "include-tests", false, "enable the diffing of the helm test hooks")
	fs.IntVarP(&f.Context, "context", "C", -1, "output NUM lines of context around changes")
	fs.StringVar(&f.Output, "output", "diff", "possible values: diff, simple, json. simple prints one line per changed object and a summary; json prints helm-diff's array of {api, kind, namespace, name, change}")
	// The output is never colored, and it is always against the live
	// objects (what helm-diff's --three-way-merge asks for).
	fs.BoolVar(&f.noColor, "no-color", false, "accepted for helm-diff's scripts: the output is never colored")
	fs.BoolVar(&f.threeWay, "three-way-merge", false, "accepted for helm-diff's scripts: the diff is always against the live objects")
}

func (f *diffFlags) validate() error {
	if f.Output != "diff" && f.Output != "simple" && f.Output != "json" {
		return fmt.Errorf("unknown output format %q: want diff, simple or json", f.Output)
	}
	return nil
}

// errChanges is --detailed-exitcode's exit 2, printed as nothing.
type errChanges struct{}

func (errChanges) Error() string { return "changes found" }
func (errChanges) ExitCode() int { return 2 }

// report prints the changes in helm-diff's shape, a header per object
// ("default, web, Deployment (apps) has changed:") followed by a unified
// diff of its YAML, and with --detailed-exitcode makes changes exit 2.
func (f *diffFlags) report(cmd *cobra.Command, out io.Writer, changes []action.Change, from, to string) error {
	switch f.Output {
	case "simple":
		f.simple(out, changes)
		return f.exit(cmd, changes)
	case "json":
		if err := writeDiffJSON(out, changes); err != nil {
			return err
		}
		return f.exit(cmd, changes)
	}
	msg := map[string]string{action.ChangeAdd: "has been added:", action.ChangeRemove: "has been removed:", action.ChangeModify: "has changed:"}
	for _, c := range changes {
		fmt.Fprintf(out, "%s %s\n", c.Key, msg[c.Type])
		a, b := lines(c.Before), lines(c.After)
		ctx := f.Context
		if ctx < 0 {
			ctx = max(len(a), len(b))
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: a, B: b, FromFile: from, ToFile: to, Context: ctx})
		if err != nil {
			return err
		}
		fmt.Fprint(out, text)
	}
	return f.exit(cmd, changes)
}

// simple is helm-diff's --output simple: a line per object, then the plan.
func (f *diffFlags) simple(out io.Writer, changes []action.Change) {
	msg := map[string]string{action.ChangeAdd: "to be added.", action.ChangeRemove: "to be removed.", action.ChangeModify: "to be changed."}
	n := map[string]int{}
	for _, c := range changes {
		fmt.Fprintf(out, "%s %s\n", c.Key, msg[c.Type])
		n[c.Type]++
	}
	fmt.Fprintf(out, "Plan: %d to add, %d to change, %d to destroy, 0 to change ownership.\n", n[action.ChangeAdd], n[action.ChangeModify], n[action.ChangeRemove])
}

// writeDiffJSON is helm-diff's --output json: one entry per change.
func writeDiffJSON(out io.Writer, changes []action.Change) error {
	type entry struct {
		API       string `json:"api"`
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Change    string `json:"change"`
	}
	list := make([]entry, 0, len(changes))
	for _, c := range changes {
		list = append(list, entry{c.API, c.Kind, c.Namespace, c.Name, c.Type})
	}
	e := json.NewEncoder(out)
	e.SetIndent("", "  ")
	return e.Encode(list)
}

func (f *diffFlags) exit(cmd *cobra.Command, changes []action.Change) error {
	if f.DetailedExitCode && len(changes) > 0 {
		cmd.SilenceErrors = true
		return errChanges{}
	}
	return nil
}

// lines splits YAML for difflib, keeping the newlines (its SplitLines
// would add an empty last line).
func lines(s string) []string {
	if s == "" {
		return nil
	}
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

const diffDesc = `
Show what an upgrade or a rollback would change, or how two revisions differ,
in the shape of the helm-diff plugin, so its scripts carry over.

Upgrades and rollbacks are compared with the LIVE objects: each object the
release would write is sent to the API server as a dry run, and the answer is
compared with the object as it is now, so changes made out of band show (where
the operation would undo them) and objects the operation would delete are
listed. Server-managed fields (status, managedFields, resourceVersion, ...) are
left out. Secrets are redacted unless --show-secrets is given.
`

func newDiffCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "preview the changes of an upgrade or rollback, or compare revisions",
		Long:  diffDesc,
		Args:  noArgs,
	}
	cmd.AddCommand(newDiffUpgradeCmd(env), newDiffRollbackCmd(env), newDiffRevisionCmd(env))
	return cmd
}

func newDiffUpgradeCmd(env *Env) *cobra.Command {
	var (
		df        diffFlags
		cpo       ChartPathOptions
		vals      values.Options
		up        action.Upgrade
		reuseVals bool
		unrel     bool
	)
	cmd := &cobra.Command{
		Use:   "upgrade [RELEASE] [CHART]",
		Short: "show what `helm upgrade` would change",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := df.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			ch, err := loadChart(ctx, env, &cpo, args[1], false)
			if err != nil {
				return err
			}
			v, err := vals.MergeValues(ctx, values.OSReader{Stdin: env.In})
			if err != nil {
				return err
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			up.Cfg = cfg
			up.ReuseValues = reuseVals
			changes, err := (&action.DiffUpgrade{Upgrade: &up, DiffOptions: df.DiffOptions, AllowUnreleased: unrel}).Run(ctx, args[0], ch, v)
			if err != nil {
				return err
			}
			return df.report(cmd, env.Out, changes, "live", "upgrade")
		},
	}
	df.bind(cmd)
	addValueFlags(cmd, &vals)
	fs := cmd.Flags()
	addChartPathFlags(fs, &cpo, env.Lookup)
	fs.BoolVar(&cpo.Devel, "devel", false, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored")
	fs.BoolVar(&unrel, "allow-unreleased", false, "enables diffing of releases that are not yet deployed via Helm")
	fs.BoolVar(&unrel, "install", false, "enables diffing of releases that are not yet deployed via Helm (equivalent to --allow-unreleased, added to match \"helm upgrade --install\" command)")
	fs.BoolVar(&reuseVals, "reuse-values", false, "reuse the last release's values and merge in any new values. If '--reset-values' is specified, this is ignored")
	fs.BoolVar(&up.ResetValues, "reset-values", false, "reset the values to the ones built into the chart and merge in any new values")
	fs.BoolVar(&up.ResetThenReuseValues, "reset-then-reuse-values", false, "reset the values to the ones built into the chart, apply the last release's values and merge in any overrides from the command line via --set and -f. If '--reset-values' or '--reuse-values' is specified, this is ignored")
	fs.BoolVar(&up.TakeOwnership, "take-ownership", false, "if set, the upgrade would ignore the check for helm annotations and take ownership of the existing resources")
	bindForce(fs, &up.Force, "show the changes of forced resource updates through a replacement strategy")
	bindApplyFlags(cmd, &up.Apply, "upgrade")
	return cmd
}

func newDiffRollbackCmd(env *Env) *cobra.Command {
	var (
		df diffFlags
		rb action.Rollback
	)
	cmd := &cobra.Command{
		Use:   "rollback [RELEASE] [REVISION]",
		Short: "show what `helm rollback` would change",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := df.validate(); err != nil {
				return err
			}
			if len(args) > 1 {
				v, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("could not convert revision to a number: %v", err)
				}
				rb.Version = v
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			rb.Cfg = cfg
			changes, err := (&action.DiffRollback{Rollback: &rb, DiffOptions: df.DiffOptions}).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return df.report(cmd, env.Out, changes, "live", "rollback")
		},
	}
	df.bind(cmd)
	fs := cmd.Flags()
	bindForce(fs, &rb.Force, "show the changes of a rollback forced through delete/recreate")
	bindApplyFlags(cmd, &rb.Apply, "rollback")
	return cmd
}

func newDiffRevisionCmd(env *Env) *cobra.Command {
	var df diffFlags
	cmd := &cobra.Command{
		Use:   "revision [RELEASE] [REVISION1] [REVISION2]",
		Short: "show how two revisions' manifests differ (the newest if REVISION2 is left out)",
		Args:  rangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := df.validate(); err != nil {
				return err
			}
			revs := make([]int, 2)
			for i, s := range args[1:] {
				v, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("could not convert revision to a number: %v", err)
				}
				revs[i] = v
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			changes, err := (&action.DiffRevision{Cfg: cfg, DiffOptions: df.DiffOptions}).Run(cmd.Context(), args[0], revs[0], revs[1])
			if err != nil {
				return err
			}
			to := "newest"
			if len(args) > 2 {
				to = "revision " + args[2]
			}
			return df.report(cmd, env.Out, changes, "revision "+args[1], strings.TrimSpace(to))
		},
	}
	df.bind(cmd)
	return cmd
}
