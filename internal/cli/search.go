package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/repo"
)

// errNoResults is --fail-on-no-result's error.
var errNoResults = errors.New("no results found")

func newSearchCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "search [keyword]",
		Short: "search for a keyword in charts",
		Long:  "\nSearch provides the ability to search for Helm charts in the various places\nthey can be stored including the Artifact Hub and repositories you have added.\nUse search subcommands to search different locations for charts.\n",
	}
	cmd.AddCommand(newSearchHubCmd(env), newSearchRepoCmd(env))
	return cmd
}

// SearchRepo is `helm search repo [KEYWORD]`.
type SearchRepo struct {
	Env            *Env
	Terms          []string
	Regexp         bool
	Versions       bool
	Devel          bool
	Version        string
	MaxColWidth    uint
	Output         outputFormat
	FailOnNoResult bool
}

type searchElement struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"app_version"`
	Description string `json:"description"`
}

// Run searches the cached indexes of every configured repository. Each
// index comes from the parsed cache when its digest still matches, so a
// search does not re-parse big index files.
func (a *SearchRepo) Run(_ context.Context, out io.Writer) error {
	s := a.Env.Settings
	version := a.Version
	if version == "" {
		// Helm searches stable versions only unless --devel.
		version = ">0.0.0"
		if a.Devel {
			version = ">0.0.0-0"
		}
	}
	rf, err := loadRepoFiles(s)
	if err != nil {
		return err
	}
	all := rf.all()
	if len(all) == 0 {
		return repo.ErrNoRepositories
	}
	cache := repo.Cache{Dir: s.RepositoryCache, Logger: a.Env.Logger}
	var idx repo.SearchIndex
	for _, e := range all {
		ind, err := cache.Load(e.Name)
		if err != nil {
			a.Env.warn("Repo %q is corrupt or missing. Try 'helm repo update'.", e.Name)
			a.Env.warn("%s", err)
			continue
		}
		idx.AddRepo(e.Name, ind, true)
	}
	var res []*repo.Result
	if len(a.Terms) == 0 {
		res = idx.All()
	} else if res, err = idx.Search(strings.Join(a.Terms, " "), repo.MaxSearchScore, a.Regexp); err != nil {
		return err
	}
	repo.SortResults(res)
	res, err = repo.FilterVersions(res, version, a.Versions)
	if err != nil {
		return err
	}
	if len(res) == 0 && a.FailOnNoResult {
		return errNoResults
	}
	switch a.Output {
	case formatJSON, formatYAML:
		list := make([]searchElement, 0, len(res))
		for _, r := range res {
			list = append(list, searchElement{r.Name, r.Chart.Version, r.Chart.AppVersion, r.Chart.Description})
		}
		if a.Output == formatJSON {
			return json.NewEncoder(out).Encode(list)
		}
		return writeYAML(out, list)
	}
	if len(res) == 0 {
		_, err := fmt.Fprintln(out, "No results found")
		return err
	}
	t := &table{maxColWidth: a.MaxColWidth}
	t.addRow("NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION")
	for _, r := range res {
		t.addRow(r.Name, r.Chart.Version, r.Chart.AppVersion, r.Chart.Description)
	}
	return t.write(out)
}

const searchRepoDesc = `
Search reads through all of the repositories configured on the system, and
looks for matches. Search of these repositories uses the metadata stored on
the system.

It will display the latest stable versions of the charts found. If you
specify the --devel flag, the output will include pre-release versions.
If you want to search using a version constraint, use --version.

Examples:

    # Search for stable release versions matching the keyword "nginx"
    $ helm search repo nginx

    # Search for release versions matching the keyword "nginx", including pre-release versions
    $ helm search repo nginx --devel

    # Search for the latest stable release for nginx-ingress with a major version of 1
    $ helm search repo nginx-ingress --version ^1.0.0

Repositories are managed with 'helm repo' commands.
`

func newSearchRepoCmd(env *Env) *cobra.Command {
	a := &SearchRepo{Env: env}
	cmd := &cobra.Command{
		Use:   "repo [keyword]",
		Short: "search repositories for a keyword in charts",
		Long:  searchRepoDesc,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Terms = args
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&a.Regexp, "regexp", "r", false, "use regular expressions for searching repositories you have added")
	f.BoolVarP(&a.Versions, "versions", "l", false, "show the long listing, with each version of each chart on its own line, for repositories you have added")
	f.BoolVar(&a.Devel, "devel", false, "use development versions (alpha, beta, and release candidate releases), too. Equivalent to version '>0.0.0-0'. If --version is set, this is ignored")
	f.StringVar(&a.Version, "version", "", "search using semantic versioning constraints on repositories you have added")
	f.UintVar(&a.MaxColWidth, "max-col-width", 50, "maximum column width for output table")
	f.BoolVar(&a.FailOnNoResult, "fail-on-no-result", false, "search fails if no results are found")
	bindOutputFlag(f, &a.Output)
	return cmd
}
