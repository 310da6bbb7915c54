package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gosuri/uitable"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/release"
)

func newRollbackCmd(env *Env) *cobra.Command {
	a := &action.Rollback{}
	var wf waitFlags
	maxHistory := env.Settings.MaxHistory
	cmd := &cobra.Command{
		Use:   "rollback <RELEASE> [REVISION]",
		Short: "roll back a release to a previous revision",
		Long: `
This command rolls back a release to a previous revision.

The first argument of the rollback command is the name of a release, and the
second is a revision (version) number. If this argument is omitted or set to
0, it will roll back to the previous release.

To see revision numbers, run 'helm history RELEASE'.
`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				v, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("could not convert revision to a number: %v", err)
				}
				a.Version = v
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			cfg.Releases.MaxHistory = maxHistory
			a.Cfg = cfg
			a.Wait, a.WaitForJobs, a.Timeout = wf.Wait, wf.WaitForJobs, wf.Timeout
			if _, err := a.Run(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(env.Out, "Rollback was a success! Happy Helming!")
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.DryRun, "dry-run", false, "simulate a rollback")
	bindForce(f, &a.Force, "force resource update through delete/recreate if needed")
	bindApplyFlags(cmd, &a.Apply, "rollback")
	f.IntVar(&maxHistory, "history-max", maxHistory, "limit the maximum number of revisions saved per release. Use 0 for no limit")
	f.BoolVar(&a.CleanupOnFail, "cleanup-on-fail", false, "allow deletion of new resources created in this rollback when rollback fails")
	wf.bindWait(f, "rollback")
	f.BoolVar(&a.DisableHooks, "no-hooks", false, "prevent hooks from running during rollback")
	return cmd
}

func newUninstallCmd(env *Env) *cobra.Command {
	a := &action.Uninstall{}
	var wf waitFlags
	cmd := &cobra.Command{
		Use:        "uninstall RELEASE_NAME [...]",
		Aliases:    []string{"del", "delete", "un"},
		SuggestFor: []string{"remove", "rm"},
		Short:      "uninstall a release",
		Long: `
This command takes a release name and uninstalls the release.

It removes all of the resources associated with the last release of the chart
as well as the release history, freeing it up for future use.

Use the '--dry-run' flag to see which releases will be uninstalled without actually
uninstalling them.
`,
		Args: minimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			a.Cfg = cfg
			a.Wait, a.Timeout = wf.Wait, wf.Timeout
			for _, name := range args {
				res, err := a.Run(cmd.Context(), name)
				if err != nil {
					return err
				}
				if res == nil {
					continue
				}
				if len(res.Kept) > 0 {
					fmt.Fprintf(env.Out, "These resources were kept due to the resource policy:\n%s\n", strings.Join(res.Kept, "\n"))
				}
				fmt.Fprintf(env.Out, "release %q uninstalled\n", name)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Cascade, "cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents. Defaults to background.`)
	f.BoolVar(&a.DryRun, "dry-run", false, "simulate a uninstall")
	f.BoolVar(&a.KeepHistory, "keep-history", false, "remove all associated resources and mark the release as deleted, but retain the release history")
	f.BoolVar(&a.IgnoreNotFound, "ignore-not-found", false, `Treat "release not found" as a successful uninstall`)
	f.StringVar(&a.Description, "description", "", "add a custom description")
	wf.bindWait(f, "uninstall")
	f.BoolVar(&a.DisableHooks, "no-hooks", false, "prevent hooks from running during uninstallation")
	return cmd
}

// listFlags are `helm list`'s.
type listFlags struct {
	all, deployed, failed, pending, superseded, uninstalled, uninstalling bool
	allNamespaces, byDate, reverse, short, noHeaders                      bool
	filter, selector, timeFormat                                          string
	max, offset                                                           int
	output                                                                outputFormat
}

func (l *listFlags) states() action.States {
	if l.all {
		return action.ListAll
	}
	var s action.States
	for _, x := range []struct {
		on bool
		s  action.States
	}{
		{l.deployed, action.ListDeployed}, {l.failed, action.ListFailed},
		{l.pending, action.ListPendingInstall | action.ListPendingUpgrade | action.ListPendingRollback},
		{l.superseded, action.ListSuperseded}, {l.uninstalled, action.ListUninstalled},
		{l.uninstalling, action.ListUninstalling},
	} {
		if x.on {
			s |= x.s
		}
	}
	return s
}

type listElement struct {
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Revision   string `json:"revision"`
	Updated    string `json:"updated"`
	Status     string `json:"status"`
	Chart      string `json:"chart"`
	AppVersion string `json:"app_version"`
}

func chartString(r *release.Release) string {
	return r.ChartName() + "-" + r.ChartVersion()
}

func newListCmd(env *Env) *cobra.Command {
	l := &listFlags{}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "list releases",
		Aliases: []string{"ls"},
		Long: `
This command lists all of the releases for a specified namespace (uses current namespace context if namespace not specified).

By default, it lists only releases that are deployed or failed. Flags like
'--uninstalled' and '--all' will alter this behavior. Such flags can be combined:
'--uninstalled --failed'.

By default, items are sorted alphabetically. Use the '-d' flag to sort by
release date.

If the --filter flag is provided, it will be treated as a filter. Filters are
regular expressions (Perl compatible) that are applied to the list of releases.
Only items that match the filter will be returned.

    $ helm list --filter 'ara[a-z]+'
    NAME                UPDATED                                  CHART
    maudlin-arachnid    2020-06-18 14:17:46.125134977 +0000 UTC  alpine-0.1.0

If no results are found, 'helm list' will exit 0, but with no output (or in
the case of no '-q' flag, only headers).

By default, up to 256 items may be returned. To limit this, use the '--max' flag.
Setting '--max' to 0 will not return all results. Rather, it will return the
server's default, which may be much higher than 256. Pairing the '--max'
flag with the '--offset' flag allows you to page through results.
`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			if l.allNamespaces {
				cfg.AllNamespaces()
			}
			a := &action.List{
				Cfg: cfg, AllNamespaces: l.allNamespaces, States: l.states(), Filter: l.filter,
				Selector: l.selector, ByDate: l.byDate, SortReverse: l.reverse, Limit: l.max, Offset: l.offset,
			}
			rels, err := a.Run(cmd.Context())
			if err != nil {
				return err
			}
			return printList(env, rels, l)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&l.short, "short", "q", false, "output short (quiet) listing format")
	f.BoolVar(&l.noHeaders, "no-headers", false, "don't print headers when using the default output format")
	f.StringVar(&l.timeFormat, "time-format", "", `format time using golang time formatter. Example: --time-format "2006-01-02 15:04:05Z0700"`)
	f.BoolVarP(&l.byDate, "date", "d", false, "sort by release date")
	f.BoolVarP(&l.reverse, "reverse", "r", false, "reverse the sort order")
	f.BoolVarP(&l.all, "all", "a", false, "show all releases without any filter applied")
	f.BoolVar(&l.uninstalled, "uninstalled", false, "show uninstalled releases (if 'helm uninstall --keep-history' was used)")
	f.BoolVar(&l.superseded, "superseded", false, "show superseded releases")
	f.BoolVar(&l.uninstalling, "uninstalling", false, "show releases that are currently being uninstalled")
	f.BoolVar(&l.deployed, "deployed", false, "show deployed releases. If no other is specified, this will be automatically enabled")
	f.BoolVar(&l.failed, "failed", false, "show failed releases")
	f.BoolVar(&l.pending, "pending", false, "show pending releases")
	f.BoolVarP(&l.allNamespaces, "all-namespaces", "A", false, "list releases across all namespaces")
	f.IntVarP(&l.max, "max", "m", 256, "maximum number of releases to fetch")
	f.IntVar(&l.offset, "offset", 0, "next release index in the list, used to offset from start value")
	f.StringVarP(&l.filter, "filter", "f", "", "a regular expression (Perl compatible). Any releases that match the expression will be included in the results")
	f.StringVarP(&l.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', and '!='.(e.g. -l key1=value1,key2=value2). Works only for secret(default) and configmap storage backends.")
	bindOutputFlag(f, &l.output)
	return cmd
}

func printList(env *Env, rels []*release.Release, l *listFlags) error {
	out := env.Out
	if l.short {
		names := make([]string, 0, len(rels))
		for _, r := range rels {
			names = append(names, r.Name)
		}
		switch l.output {
		case formatJSON:
			return writeJSON(out, names)
		case formatYAML:
			return writeYAML(out, names)
		}
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		return nil
	}
	elems := make([]listElement, 0, len(rels))
	for _, r := range rels {
		t := "-"
		if ts := r.Info.LastDeployed; !ts.IsZero() {
			if l.timeFormat != "" {
				t = ts.Format(l.timeFormat)
			} else {
				t = ts.String()
			}
		}
		elems = append(elems, listElement{
			Name: r.Name, Namespace: r.Namespace, Revision: strconv.Itoa(r.Version), Updated: t,
			Status: string(r.Info.Status), Chart: chartString(r), AppVersion: r.AppVersion(),
		})
	}
	switch l.output {
	case formatJSON:
		return writeJSON(out, elems)
	case formatYAML:
		return writeYAML(out, elems)
	}
	t := uitable.New()
	if !l.noHeaders {
		t.AddRow("NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION")
	}
	for _, e := range elems {
		t.AddRow(e.Name, e.Namespace, e.Revision, e.Updated, e.Status, e.Chart, e.AppVersion)
	}
	return writeTable(out, t)
}

// writeJSON prints v as Helm's EncodeJSON does: compact, one line.
func writeJSON(out interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("unable to write JSON output: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

func newStatusCmd(env *Env) *cobra.Command {
	var (
		revision        int
		format          outputFormat
		showDescription bool
		drift           bool
		showResources   bool
	)
	cmd := &cobra.Command{
		Use:   "status RELEASE_NAME",
		Short: "display the status of the named release",
		Long: `
This command shows the status of a named release.
The status consists of:
- last deployment time
- k8s namespace in which the release lives
- state of the release (can be: unknown, deployed, uninstalled, superseded, failed, uninstalling, pending-install, pending-upgrade or pending-rollback)
- revision of the release
- description of the release (can be completion message or error message, need to enable --show-desc)
- list of resources that this release consists of (need to enable --show-resources)
- details on last test suite run, if applicable
- additional notes provided by the chart
`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDrift(drift, format); err != nil {
				return err
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			r, err := (&action.Get{Cfg: cfg, Version: revision}).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var res map[string][]runtime.Object
			if showResources {
				if r, res, err = withResources(cmd.Context(), cfg, r, format); err != nil {
					return err
				}
			}
			// Helm's status leaves the chart out of -o json|yaml.
			shown := *r
			shown.Chart = nil
			if err := printRelease(env.Out, &shown, format, statusOptions{showDescription: showDescription, debug: env.Settings.Debug, resources: res}); err != nil {
				return err
			}
			return printDrift(cmd.Context(), env, r, drift, format)
		},
	}
	f := cmd.Flags()
	bindDriftFlag(f, &drift)
	f.IntVar(&revision, "revision", 0, "if set, display the status of the named release with revision")
	f.BoolVar(&showDescription, "show-desc", false, "if set, display the description message of the named release")
	f.BoolVar(&showResources, "show-resources", false, "if set, display the resources of the named release")
	bindOutputFlag(f, &format)
	return cmd
}

func getRelease(ctx context.Context, env *Env, name string, revision int) (*release.Release, error) {
	cfg, err := actionConfig(env)
	if err != nil {
		return nil, err
	}
	return (&action.Get{Cfg: cfg, Version: revision}).Run(ctx, name)
}

type historyElement struct {
	Revision    int       `json:"revision"`
	Updated     time.Time `json:"updated"`
	Status      string    `json:"status"`
	Chart       string    `json:"chart"`
	AppVersion  string    `json:"app_version"`
	Description string    `json:"description"`
}

func newHistoryCmd(env *Env) *cobra.Command {
	var (
		max    int
		format outputFormat
	)
	cmd := &cobra.Command{
		Use:     "history RELEASE_NAME",
		Long:    "\nHistory prints historical revisions for a given release.\n\nA default maximum of 256 revisions will be returned. Setting '--max'\nconfigures the maximum length of the revision list returned.\n\nThe historical release set is printed as a formatted table, e.g:\n\n    $ helm history angry-bird\n    REVISION    UPDATED                     STATUS          CHART             APP VERSION     DESCRIPTION\n    1           Mon Oct 3 10:15:13 2016     superseded      alpine-0.1.0      1.0             Initial install\n    2           Mon Oct 3 10:15:13 2016     superseded      alpine-0.1.0      1.0             Upgraded successfully\n    3           Mon Oct 3 10:15:13 2016     superseded      alpine-0.1.0      1.0             Rolled back to 2\n    4           Mon Oct 3 10:15:13 2016     deployed        alpine-0.1.0      1.0             Upgraded successfully\n",
		Aliases: []string{"hist"},
		Short:   "fetch release history",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			h, err := (&action.History{Cfg: cfg, Max: max}).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			elems := make([]historyElement, 0, len(h))
			for _, r := range h {
				elems = append(elems, historyElement{
					Revision: r.Version, Updated: r.Info.LastDeployed.Time, Status: string(r.Info.Status),
					Chart: chartString(r), AppVersion: r.AppVersion(), Description: r.Info.Description,
				})
			}
			switch format {
			case formatJSON:
				return writeJSON(env.Out, elems)
			case formatYAML:
				return writeYAML(env.Out, elems)
			}
			t := uitable.New()
			t.AddRow("REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION")
			for _, e := range elems {
				t.AddRow(e.Revision, e.Updated.Format(time.ANSIC), e.Status, e.Chart, e.AppVersion, e.Description)
			}
			return writeTable(env.Out, t)
		},
	}
	f := cmd.Flags()
	f.IntVar(&max, "max", 256, "maximum number of revision to include in history")
	bindOutputFlag(f, &format)
	return cmd
}
