package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/internal/helmpath"
	"github.com/chartd/chartd/repo"
)

// registerCompletions gives the command tree Helm 3's dynamic completions,
// served by cobra's hidden __complete command as in Helm: repository
// names, repo/chart names from the cached indexes, chart versions, release
// names from the release store, and -o values.
func registerCompletions(root *cobra.Command, env *Env) {
	c := completer{env: env}
	chartArg := func(at int, files bool) cobra.CompletionFunc {
		return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == at-generateNameShift(cmd) {
				return c.charts(toComplete, files)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	versionOf := func(at int) cobra.CompletionFunc {
		return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			at := at - generateNameShift(cmd)
			if len(args) != at+1 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return c.versions(args[at])
		}
	}
	releaseArg := func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) != 0 {
			return noMoreArgs()
		}
		return c.releases(cmd.Context(), nil)
	}
	repos := func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return c.repos(args), cobra.ShellCompDirectiveNoFileComp
	}
	set := map[string]cobra.CompletionFunc{
		"repo remove": repos,
		"repo update": repos,
		"install":     chartArg(1, true),
		"template":    chartArg(1, true),
		"pull": func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) != 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return c.charts(toComplete, false)
		},
		"upgrade": func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return c.releases(cmd.Context(), nil)
			case 1:
				return c.charts(toComplete, true)
			}
			return noMoreArgs()
		},
		"uninstall": func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return c.releases(cmd.Context(), args)
		},
		"status":  releaseArg,
		"history": releaseArg,
		"rollback": func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return c.releases(cmd.Context(), nil)
			case 1:
				return c.revisions(cmd.Context(), args[0])
			}
			return noMoreArgs()
		},
	}
	versions := map[string]cobra.CompletionFunc{
		"install": versionOf(1), "template": versionOf(1), "upgrade": versionOf(1), "pull": versionOf(0),
	}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		path := strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")
		if f, ok := set[path]; ok {
			cmd.ValidArgsFunction = f
		}
		parent := ""
		if cmd.HasParent() {
			parent = cmd.Parent().Name()
		}
		switch {
		case parent == "get":
			cmd.ValidArgsFunction = releaseArg
		case parent == "show":
			cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) != 0 {
					return noMoreArgs()
				}
				return c.charts(toComplete, true)
			}
			versions[path] = versionOf(0)
		}
		if f, ok := versions[path]; ok && cmd.Flags().Lookup("version") != nil {
			_ = cmd.RegisterFlagCompletionFunc("version", f)
		}
		if fl := cmd.Flags().Lookup("output"); fl != nil && fl.Value.Type() == "format" {
			_ = cmd.RegisterFlagCompletionFunc("output", outputCompletions)
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// generateNameShift is 1 when --generate-name leaves out the NAME argument.
func generateNameShift(cmd *cobra.Command) int {
	if g, err := cmd.Flags().GetBool("generate-name"); err == nil && g {
		return 1
	}
	return 0
}

// noMoreArgs is Helm's answer past the last argument: an active-help line.
func noMoreArgs() ([]string, cobra.ShellCompDirective) {
	return cobra.AppendActiveHelp(nil, "This command does not take any more arguments (but may accept flags)."), cobra.ShellCompDirectiveNoFileComp
}

func outputCompletions(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{
		"json\tOutput result in JSON format",
		"table\tOutput result in human-readable format",
		"yaml\tOutput result in YAML format",
	}, cobra.ShellCompDirectiveNoFileComp
}

type completer struct{ env *Env }

// repos lists "name\tURL" of the configured repositories, less those
// already on the command line.
func (c completer) repos(ignore []string) []string {
	f, err := repo.LoadFile(c.env.Settings.RepositoryConfig)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range f.Repositories {
		if !contains(ignore, e.Name) {
			out = append(out, fmt.Sprintf("%s\t%s", e.Name, e.URL))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// charts completes a chart reference as Helm does: "repo/" for each
// repository the input is a prefix of (then the charts of the repository
// named), URL prefixes, local files when asked for and the input is not
// empty, and path hints for empty input.
func (c completer) charts(toComplete string, files bool) ([]string, cobra.ShellCompDirective) {
	var out []string
	noSpace, noFile := false, false
	for _, r := range c.repos(nil) {
		name, desc, _ := strings.Cut(r, "\t")
		if strings.HasPrefix(toComplete, name+"/") {
			out = append(out, c.chartsOf(name)...)
			noSpace = false
			break
		} else if strings.HasPrefix(name, toComplete) {
			out = append(out, fmt.Sprintf("%s/\t%s", name, desc))
			noSpace = true
		}
	}
	for _, u := range []string{"oci://\tChart OCI prefix", "https://\tChart URL prefix", "http://\tChart URL prefix", "file://\tChart local URL prefix"} {
		// Helm compares with the description attached, so a complete
		// prefix is offered again rather than left to the shell.
		if strings.HasPrefix(toComplete, u) {
			noFile, noSpace = true, true
		} else if strings.HasPrefix(u, toComplete) {
			out = append(out, u)
			noSpace = true
		}
	}
	if files && len(out) > 0 && toComplete != "" {
		if es, err := os.ReadDir("."); err == nil {
			for _, e := range es {
				if strings.HasPrefix(e.Name(), toComplete) {
					out = append(out, e.Name())
				}
			}
		}
	}
	if files && toComplete == "" {
		out = append(out, "./\tRelative path prefix to local chart", "/\tAbsolute path prefix to local chart")
	}
	d := cobra.ShellCompDirectiveDefault
	if noFile || !files {
		d |= cobra.ShellCompDirectiveNoFileComp
	}
	if noSpace {
		d |= cobra.ShellCompDirectiveNoSpace
	}
	return out, d
}

// chartsOf lists "repo/chart" from the cached chart list, else the cached
// index.
func (c completer) chartsOf(name string) []string {
	cache := c.env.Settings.RepositoryCache
	var out []string
	if b, err := os.ReadFile(filepath.Join(cache, helmpath.CacheChartsFile(name))); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			out = append(out, name+"/"+sc.Text())
		}
		return out
	}
	idx, err := repo.LoadIndexFile(filepath.Join(cache, helmpath.CacheIndexFile(name)))
	if err != nil {
		return nil
	}
	for chart := range idx.Entries {
		out = append(out, name+"/"+chart)
	}
	return out
}

// versions lists the versions of repo/chart from the cached index, with
// Helm's description: app version, creation date, deprecation.
func (c completer) versions(ref string) ([]string, cobra.ShellCompDirective) {
	repoName, chartName, ok := strings.Cut(ref, "/")
	if !ok || strings.Contains(chartName, "/") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	idx, err := repo.LoadIndexFile(filepath.Join(c.env.Settings.RepositoryCache, helmpath.CacheIndexFile(repoName)))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, cv := range idx.Entries[chartName] {
		desc := ""
		if cv.AppVersion != "" {
			desc = fmt.Sprintf("App: %s, ", cv.AppVersion)
		}
		desc += fmt.Sprintf("Created: %s ", cv.Created.Format("January 2, 2006"))
		if cv.Deprecated {
			desc += "(deprecated)"
		}
		out = append(out, fmt.Sprintf("%s\t%s", cv.Version, desc))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// releases lists "name\tchart-version -> status" of every release in the
// namespace, less those named already, as Helm's completion does; without
// a cluster it offers nothing.
func (c completer) releases(ctx context.Context, ignore []string) ([]string, cobra.ShellCompDirective) {
	cfg, err := actionConfig(c.env)
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	l := &action.List{Cfg: cfg, States: action.ListAll}
	rels, err := l.Run(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, r := range rels {
		if contains(ignore, r.Name) {
			continue
		}
		out = append(out, fmt.Sprintf("%s\t%s-%s -> %s", r.Name, r.ChartName(), r.ChartVersion(), r.Info.Status))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// revisions lists a release's revisions with Helm's description.
func (c completer) revisions(ctx context.Context, name string) ([]string, cobra.ShellCompDirective) {
	cfg, err := actionConfig(c.env)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	hist, err := (&action.History{Cfg: cfg}).Run(ctx, name)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, r := range hist {
		out = append(out, fmt.Sprintf("%d\tApp: %s, Chart: %s-%s", r.Version, r.AppVersion(), r.ChartName(), r.ChartVersion()))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
