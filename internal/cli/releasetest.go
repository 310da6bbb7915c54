package cli

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
)

const releaseTestHelp = `
The test command runs the tests for a release.

The argument this command takes is the name of a deployed release.
The tests to be run are defined in the chart that was installed.
`

// notName is --filter's exclusion, "!name=" (Helm allows a space).
var notName = regexp.MustCompile(`^!\s?name=`)

func newReleaseTestCmd(env *Env) *cobra.Command {
	var (
		outputLogs bool
		hideNotes  bool
		filter     []string
	)
	a := &action.ReleaseTesting{}
	cmd := &cobra.Command{
		Use:   "test [RELEASE]",
		Short: "run tests for a release",
		Long:  releaseTestHelp,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range filter {
				if strings.HasPrefix(f, "name=") {
					a.Include = append(a.Include, strings.TrimPrefix(f, "name="))
				} else if notName.MatchString(f) {
					a.Exclude = append(a.Exclude, notName.ReplaceAllLiteralString(f, ""))
				}
			}
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			a.Cfg = cfg
			rel, runErr := a.Run(cmd.Context(), args[0])
			// Without a release there is nothing to print; with one, the
			// status (and logs) are shown before the failure, as in Helm.
			if rel == nil {
				return runErr
			}
			if err := printRelease(env.Out, rel, formatTable, statusOptions{hideNotes: hideNotes, debug: env.Settings.Debug}); err != nil {
				return err
			}
			if outputLogs {
				fmt.Fprintln(env.Out)
				err := a.Logs(cmd.Context(), rel, func(pod string, log io.Reader) error {
					fmt.Fprintf(env.Out, "POD LOGS: %s\n", pod)
					_, err := io.Copy(env.Out, log)
					fmt.Fprintln(env.Out)
					return err
				})
				if err != nil {
					return err
				}
			}
			return runErr
		},
	}
	f := cmd.Flags()
	bindTimeout(f, &a.Timeout)
	f.BoolVar(&outputLogs, "logs", false, "dump the logs from test pods (this runs after all tests are complete, but before any cleanup)")
	f.StringSliceVar(&filter, "filter", []string{}, "specify tests by attribute (currently \"name\") using attribute=value syntax or '!attribute=value' to exclude a test (can specify multiple or separate values with commas: name=test1,name=test2)")
	f.BoolVar(&hideNotes, "hide-notes", false, "if set, do not show notes in test output. Does not affect presence in chart metadata")
	return cmd
}
