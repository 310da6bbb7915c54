package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
)

func newGetCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get",
		Short: "download extended information of a named release",
		Long: `
This command consists of multiple subcommands which can be used to
get extended information about the release, including:

- The values used to generate the release
- The generated manifest file
- The notes provided by the chart of the release
- The hooks associated with the release
- The metadata of the release
`,
		Args: noArgs,
	}
	cmd.AddCommand(newGetAllCmd(env), newGetValuesCmd(env), newGetManifestCmd(env),
		newGetNotesCmd(env), newGetHooksCmd(env), newGetMetadataCmd(env))
	return cmd
}

// getSub builds a `get X RELEASE_NAME` command with --revision.
func getSub(use, short, long string, run func(cmd *cobra.Command, name string, revision int) error) (*cobra.Command, *int) {
	var revision int
	cmd := &cobra.Command{
		Use: use + " RELEASE_NAME", Short: short, Long: long, Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return run(cmd, args[0], revision) },
	}
	usage := "get the named release with revision"
	if use == "metadata" {
		usage = "specify release revision"
	}
	cmd.Flags().IntVar(&revision, "revision", 0, usage)
	return cmd, &revision
}

func newGetAllCmd(env *Env) *cobra.Command {
	var tpl string
	cmd, _ := getSub("all", "download all information for a named release",
		"\nThis command prints a human readable collection of information about the\nnotes, hooks, supplied values, and generated manifest file of the given release.\n",
		func(cmd *cobra.Command, name string, revision int) error {
			r, err := getRelease(cmd.Context(), env, name, revision)
			if err != nil {
				return err
			}
			if tpl != "" {
				t, err := template.New("_").Funcs(engine.FuncMap()).Parse(tpl)
				if err != nil {
					return err
				}
				return t.Execute(env.Out, map[string]any{"Release": r})
			}
			return printRelease(env.Out, r, formatTable, statusOptions{debug: true, showMetadata: true})
		})
	cmd.Flags().StringVar(&tpl, "template", "", "go template for formatting the output, eg: {{.Release.Name}}")
	return cmd
}

func newGetValuesCmd(env *Env) *cobra.Command {
	var (
		all    bool
		format outputFormat
	)
	cmd, rev := getSub("values", "download the values file for a named release",
		"\nThis command downloads a values file for a given release.\n", nil)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := actionConfig(env)
		if err != nil {
			return err
		}
		v, err := (&action.Get{Cfg: cfg, Version: *rev, Coalesce: helmLog{env.Err}.coalesce}).Values(cmd.Context(), args[0], all)
		if err != nil {
			return err
		}
		switch format {
		case formatJSON:
			return writeJSON(env.Out, v)
		case formatYAML:
			return writeYAML(env.Out, v)
		}
		if all {
			fmt.Fprintln(env.Out, "COMPUTED VALUES:")
		} else {
			fmt.Fprintln(env.Out, "USER-SUPPLIED VALUES:")
		}
		return writeYAML(env.Out, v)
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "dump all (computed) values")
	bindOutputFlag(cmd.Flags(), &format)
	return cmd
}

func newGetManifestCmd(env *Env) *cobra.Command {
	cmd, _ := getSub("manifest", "download the manifest for a named release",
		"\nThis command fetches the generated manifest for a given release.\n\nA manifest is a YAML-encoded representation of the Kubernetes resources that\nwere generated from this release's chart(s). If a chart is dependent on other\ncharts, those resources will also be included in the manifest.\n",
		func(cmd *cobra.Command, name string, revision int) error {
			r, err := getRelease(cmd.Context(), env, name, revision)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Out, r.Manifest)
			return nil
		})
	return cmd
}

func newGetNotesCmd(env *Env) *cobra.Command {
	cmd, _ := getSub("notes", "download the notes for a named release",
		"\nThis command shows notes provided by the chart of a named release.\n",
		func(cmd *cobra.Command, name string, revision int) error {
			r, err := getRelease(cmd.Context(), env, name, revision)
			if err != nil {
				return err
			}
			if r.Info.Notes != "" {
				fmt.Fprintf(env.Out, "NOTES:\n%s\n", r.Info.Notes)
			}
			return nil
		})
	return cmd
}

func newGetHooksCmd(env *Env) *cobra.Command {
	cmd, _ := getSub("hooks", "download all hooks for a named release",
		"\nThis command downloads hooks for a given release.\n\nHooks are formatted in YAML and separated by the YAML '---\\n' separator.\n",
		func(cmd *cobra.Command, name string, revision int) error {
			r, err := getRelease(cmd.Context(), env, name, revision)
			if err != nil {
				return err
			}
			for _, h := range r.Hooks {
				fmt.Fprintf(env.Out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
			}
			return nil
		})
	return cmd
}

type metadataElement struct {
	Name         string              `json:"name"`
	Chart        string              `json:"chart"`
	Version      string              `json:"version"`
	AppVersion   string              `json:"appVersion"`
	Annotations  map[string]string   `json:"annotations,omitempty"`
	Dependencies []*chart.Dependency `json:"dependencies,omitempty"`
	Namespace    string              `json:"namespace"`
	Revision     int                 `json:"revision"`
	Status       string              `json:"status"`
	DeployedAt   string              `json:"deployedAt"`
}

func newGetMetadataCmd(env *Env) *cobra.Command {
	var format outputFormat
	cmd, _ := getSub("metadata", "This command fetches metadata for a given release", "",
		func(cmd *cobra.Command, name string, revision int) error {
			r, err := getRelease(cmd.Context(), env, name, revision)
			if err != nil {
				return err
			}
			m := metadataElement{
				Name: r.Name, Chart: r.ChartName(), Version: r.ChartVersion(), AppVersion: r.AppVersion(),
				Namespace: r.Namespace, Revision: r.Version, Status: string(r.Info.Status),
				DeployedAt: r.Info.LastDeployed.Format(time.RFC3339),
			}
			if r.Chart != nil && r.Chart.Metadata != nil {
				m.Annotations, m.Dependencies = r.Chart.Metadata.Annotations, r.Chart.Metadata.Dependencies
			}
			switch format {
			case formatJSON:
				return writeJSON(env.Out, m)
			case formatYAML:
				return writeYAML(env.Out, m)
			}
			deps := make([]string, 0, len(m.Dependencies))
			for _, d := range m.Dependencies {
				deps = append(deps, d.Name)
			}
			sort.Strings(deps)
			o := env.Out
			fmt.Fprintf(o, "NAME: %v\nCHART: %v\nVERSION: %v\nAPP_VERSION: %v\n", m.Name, m.Chart, m.Version, m.AppVersion)
			fmt.Fprintf(o, "ANNOTATIONS: %v\nDEPENDENCIES: %v\n", labels.Set(m.Annotations).String(), strings.Join(deps, ","))
			fmt.Fprintf(o, "NAMESPACE: %v\nREVISION: %v\nSTATUS: %v\nDEPLOYED_AT: %v\n", m.Namespace, m.Revision, m.Status, m.DeployedAt)
			return nil
		})
	bindOutputFlag(cmd.Flags(), &format)
	return cmd
}
