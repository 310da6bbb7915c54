package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// What `helm show` prints.
const (
	showAll    = "all"
	showChart  = "chart"
	showValues = "values"
	showReadme = "readme"
	showCRDs   = "crds"
)

// Show is `helm show chart|values|readme|crds|all CHART`.
type Show struct {
	Env *Env
	ChartPathOptions
	What     string
	Chart    string
	JSONPath string
}

var readmeNames = []string{"readme.md", "readme.txt", "readme"}

// Run prints the requested parts of the chart.
func (a *Show) Run(ctx context.Context, out io.Writer) error {
	p, err := locateChart(ctx, a.Env, &a.ChartPathOptions, a.Chart)
	if err != nil {
		return err
	}
	ch, err := chart.Load(ctx, p)
	if err != nil {
		return err
	}
	var b strings.Builder
	if a.What == showChart || a.What == showAll {
		cf, err := yaml.Marshal(ch.Metadata)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\n", cf)
	}
	if (a.What == showValues || a.What == showAll) && ch.Values != nil {
		if a.What == showAll {
			fmt.Fprintln(&b, "---")
		}
		if a.JSONPath != "" {
			if err := jsonPath(&b, a.JSONPath, ch.Values); err != nil {
				return err
			}
		} else {
			for _, f := range ch.Raw {
				if f.Name == "values.yaml" {
					fmt.Fprintln(&b, string(f.Data))
				}
			}
		}
	}
	if a.What == showReadme || a.What == showAll {
		if r := findReadme(ch.Files); r != nil {
			if a.What == showAll {
				fmt.Fprintln(&b, "---")
			}
			fmt.Fprintf(&b, "%s\n", r.Data)
		}
	}
	if a.What == showCRDs || a.What == showAll {
		crds := crdFiles(ch)
		if len(crds) > 0 {
			if a.What == showAll && !bytes.HasPrefix(crds[0].Data, []byte("---")) {
				fmt.Fprintln(&b, "---")
			}
			for _, c := range crds {
				fmt.Fprintf(&b, "%s\n", c.Data)
			}
		}
	}
	_, err = io.WriteString(out, b.String())
	return err
}

func findReadme(files []*chart.File) *chart.File {
	for _, f := range files {
		for _, n := range readmeNames {
			if f != nil && strings.EqualFold(f.Name, n) {
				return f
			}
		}
	}
	return nil
}

// crdFiles lists crds/*.{yaml,yml,json} of the chart, then of its subcharts.
func crdFiles(ch *chart.Chart) []*chart.File {
	var out []*chart.File
	for _, f := range ch.Files {
		ext := strings.ToLower(path.Ext(f.Name))
		if strings.HasPrefix(f.Name, "crds/") && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			out = append(out, f)
		}
	}
	for _, d := range ch.Dependencies() {
		out = append(out, crdFiles(d)...)
	}
	return out
}

func newShowCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "show information of a chart",
		Aliases: []string{"inspect"},
		Long:    "\nThis command consists of multiple subcommands to display information about a chart\n",
		Args:    noArgs,
	}
	subs := []struct{ what, short, long string }{
		{showAll, "show all information of the chart", "\nThis command inspects a chart (directory, file, or URL) and displays all its content\n(values.yaml, Chart.yaml, README)\n"},
		{showValues, "show the chart's values", "\nThis command inspects a chart (directory, file, or URL) and displays the contents\nof the values.yaml file\n"},
		{showChart, "show the chart's definition", "\nThis command inspects a chart (directory, file, or URL) and displays the contents\nof the Chart.yaml file\n"},
		{showReadme, "show the chart's README", "\nThis command inspects a chart (directory, file, or URL) and displays the contents\nof the README file\n"},
		{showCRDs, "show the chart's CRDs", "\nThis command inspects a chart (directory, file, or URL) and displays the contents\nof the CustomResourceDefinition files\n"},
	}
	for _, s := range subs {
		a := &Show{Env: env, What: s.what}
		sub := &cobra.Command{
			Use:   s.what + " [CHART]",
			Short: s.short,
			Long:  s.long,
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				a.Chart = args[0]
				return a.Run(cmd.Context(), env.Out)
			},
		}
		f := sub.Flags()
		f.BoolVar(&a.Devel, "devel", false, "use development versions, too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored")
		addChartPathFlags(f, &a.ChartPathOptions, env.Lookup)
		if s.what == showValues {
			f.StringVar(&a.JSONPath, "jsonpath", "", "supply a JSONPath expression to filter the output")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

// jsonPath prints v through a kubectl JSONPath template, as Helm's show
// values --jsonpath does: client-go's jsonpath, maps and lists printed as
// JSON. A template that does not parse is an error; one that fails on these
// values (a missing key) prints what it got so far and succeeds, because
// Helm ignores the evaluation error.
func jsonPath(w io.Writer, tmpl string, v map[string]interface{}) error {
	j := jsonpath.New("out")
	if err := j.Parse(tmpl); err != nil {
		return fmt.Errorf("error parsing jsonpath %s: %w", tmpl, err)
	}
	_ = j.Execute(w, v)
	return nil
}
