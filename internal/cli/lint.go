package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/lint"
	"github.com/chartd/chartd/values"
)

// Lint is `helm lint PATH...`: the rules are package lint's; this prints
// Helm's report and summary.
type Lint struct {
	Env           *Env
	Paths         []string
	Strict        bool
	Quiet         bool
	WithSubcharts bool
	KubeVersion   string
	SkipSchema    bool
	Values        values.Options
}

// Run lints every path and prints Helm's report.
func (a *Lint) Run(ctx context.Context, out io.Writer) error {
	opt := lint.Options{Namespace: a.Env.Settings.NamespaceOrDefault(), SkipSchemaValidation: a.SkipSchema}
	if a.KubeVersion != "" {
		kv, err := engine.ParseKubeVersion(a.KubeVersion)
		if err != nil {
			return fmt.Errorf("invalid kube version '%s': %w", a.KubeVersion, err)
		}
		opt.KubeVersion = kv
	}
	vals, err := a.Values.MergeValues(ctx, values.OSReader{Stdin: a.Env.In})
	if err != nil {
		return err
	}
	log := helmLog{a.Env.Err}
	opt.Notes, opt.Coalesce = log, log.coalesce
	paths := a.Paths
	if a.WithSubcharts {
		paths = withSubcharts(paths)
	}
	var report strings.Builder
	failed, noisy := 0, 0
	for _, p := range paths {
		res := lint.Path(ctx, p, vals, opt)
		loud := res.Noisy(a.Strict)
		if loud {
			noisy++
		}
		if res.Failed(a.Strict) {
			failed++
		}
		if a.Quiet && !loud {
			continue
		}
		fmt.Fprintf(&report, "==> Linting %s\n", p)
		if res.Err != nil {
			fmt.Fprintf(&report, "Error %s\n", res.Err)
		}
		for _, m := range res.Messages {
			if !a.Quiet || m.Severity > lint.Info {
				fmt.Fprintf(&report, "%s\n", m)
			}
		}
		report.WriteString("\n")
	}
	fmt.Fprint(out, report.String())
	summary := fmt.Sprintf("%d chart(s) linted, %d chart(s) failed", len(paths), failed)
	if failed > 0 {
		return errors.New(summary)
	}
	if !a.Quiet || noisy > 0 {
		fmt.Fprintln(out, summary)
	}
	return nil
}

// withSubcharts adds, as Helm's --with-subcharts does, every chart
// directory and archive found under each path's charts/.
func withSubcharts(paths []string) []string {
	out := paths
	for _, p := range paths {
		_ = filepath.Walk(filepath.Join(p, "charts"), func(path string, info os.FileInfo, _ error) error {
			if info == nil {
				return nil
			}
			if info.Name() == "Chart.yaml" {
				out = append(out, filepath.Dir(path))
			} else if strings.HasSuffix(path, ".tgz") || strings.HasSuffix(path, ".tar.gz") {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

func newLintCmd(env *Env) *cobra.Command {
	a := &Lint{Env: env}
	cmd := &cobra.Command{
		Use:   "lint PATH",
		Short: "examine a chart for possible issues",
		Long:  "\nThis command takes a path to a chart and runs a series of tests to verify that\nthe chart is well-formed.\n\nIf the linter encounters things that will cause the chart to fail installation,\nit will emit [ERROR] messages. If it encounters issues that break with convention\nor recommendation, it will emit [WARNING] messages.\n",
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Paths = []string{"."}
			if len(args) > 0 {
				a.Paths = args
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.Strict, "strict", false, "fail on lint warnings")
	f.BoolVar(&a.WithSubcharts, "with-subcharts", false, "lint dependent charts")
	f.BoolVar(&a.Quiet, "quiet", false, "print only warnings and errors")
	f.BoolVar(&a.SkipSchema, "skip-schema-validation", false, "if set, disables JSON schema validation")
	f.StringVar(&a.KubeVersion, "kube-version", "", "Kubernetes version used for capabilities and deprecation checks")
	addValueFlags(cmd, &a.Values)
	return cmd
}
