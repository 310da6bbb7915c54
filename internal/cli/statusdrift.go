package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/pflag"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/release"
)

// bindDriftFlag adds status --drift.
func bindDriftFlag(f *pflag.FlagSet, drift *bool) {
	f.BoolVar(drift, "drift", false, "if set, compare the live objects with the release's manifest (by a server-side dry run) and list those that drifted")
}

// checkDrift refuses --drift with -o json|yaml before anything is printed.
func checkDrift(drift bool, format outputFormat) error {
	if drift && format != formatTable {
		return fmt.Errorf("--drift prints a table only; it cannot be combined with -o %s", format)
	}
	return nil
}

// printDrift appends the drift report to a table status: each drifted
// object in helm-diff's shape (live, then what the manifest would make of
// it), each missing one by name.
func printDrift(ctx context.Context, env *Env, rel *release.Release, drift bool, format outputFormat) error {
	if !drift {
		return nil
	}
	cfg, err := actionConfig(env)
	if err != nil {
		return err
	}
	changes, err := (&action.Drift{Cfg: cfg}).Run(ctx, rel)
	if err != nil {
		return err
	}
	return writeDrift(env.Out, changes)
}

func writeDrift(out io.Writer, changes []action.Change) error {
	if len(changes) == 0 {
		fmt.Fprintln(out, "DRIFT: none, the live objects match the release's manifest")
		return nil
	}
	fmt.Fprintf(out, "DRIFT: %d object(s) differ from the release's manifest\n", len(changes))
	for _, c := range changes {
		if c.Type == action.DriftMissing {
			fmt.Fprintf(out, "%s is missing\n", c.Key)
			continue
		}
		fmt.Fprintf(out, "%s has drifted:\n", c.Key)
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: lines(c.Before), B: lines(c.After), FromFile: "live", ToFile: "manifest", Context: 3})
		if err != nil {
			return err
		}
		fmt.Fprint(out, text)
	}
	return nil
}
