package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/repo"
)

// SearchHub is `helm search hub [KEYWORD]`: a query of a Monocular-compatible
// search API (Artifact Hub, or chartd's /api/chartsvc/v1/charts/search).
type SearchHub struct {
	Env            *Env
	Endpoint       string
	Terms          []string
	MaxColWidth    uint
	ListRepoURL    bool
	Output         outputFormat
	FailOnNoResult bool
	// Timeout bounds the query, so that an unreachable hub fails clearly
	// instead of hanging a pipeline.
	Timeout time.Duration
}

// hubResult is the part of a Monocular search answer that Helm reads.
type hubResult struct {
	ID          string `json:"id"`
	ArtifactHub struct {
		PackageURL string `json:"packageUrl"`
	} `json:"artifactHub"`
	Attributes struct {
		Description string `json:"description"`
		Repo        struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"repo"`
	} `json:"attributes"`
	Relationships struct {
		LatestChartVersion struct {
			Data struct {
				Version    string `json:"version"`
				AppVersion string `json:"app_version"`
			} `json:"data"`
		} `json:"latestChartVersion"`
	} `json:"relationships"`
}

// hubElement is one line of the output, in Helm's JSON and YAML names.
type hubElement struct {
	URL         string  `json:"url"`
	Version     string  `json:"version"`
	AppVersion  string  `json:"app_version"`
	Description string  `json:"description"`
	Repository  hubRepo `json:"repository"`
}

type hubRepo struct {
	URL  string `json:"url"`
	Name string `json:"name"`
}

// Run queries the hub and prints what it found.
func (a *SearchHub) Run(ctx context.Context, out io.Writer) error {
	results, err := a.query(ctx, strings.Join(a.Terms, " "))
	if err != nil {
		a.Env.Logger.Debug("search hub", "err", err)
		return fmt.Errorf("unable to perform search against %q: %w", a.Endpoint, err)
	}
	list := make([]hubElement, 0, len(results))
	for _, r := range results {
		// Monocular's page of a chart, unless Artifact Hub names its own.
		u := strings.TrimSuffix(a.Endpoint, "/") + "/charts/" + r.ID
		if r.ArtifactHub.PackageURL != "" {
			u = r.ArtifactHub.PackageURL
		}
		v := r.Relationships.LatestChartVersion.Data
		list = append(list, hubElement{u, v.Version, v.AppVersion, r.Attributes.Description,
			hubRepo{URL: r.Attributes.Repo.URL, Name: r.Attributes.Repo.Name}})
	}
	if len(list) == 0 && a.FailOnNoResult {
		return errNoResults
	}
	switch a.Output {
	case formatJSON:
		return json.NewEncoder(out).Encode(list)
	case formatYAML:
		return writeYAML(out, list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "No results found")
		return err
	}
	t := &table{maxColWidth: a.MaxColWidth}
	if a.ListRepoURL {
		t.addRow("URL", "CHART VERSION", "APP VERSION", "DESCRIPTION", "REPO URL")
	} else {
		t.addRow("URL", "CHART VERSION", "APP VERSION", "DESCRIPTION")
	}
	for _, e := range list {
		if a.ListRepoURL {
			t.addRow(e.URL, e.Version, e.AppVersion, e.Description, e.Repository.URL)
		} else {
			t.addRow(e.URL, e.Version, e.AppVersion, e.Description)
		}
	}
	return t.write(out)
}

// query is GET <endpoint>/api/chartsvc/v1/charts/search?q=<term>.
func (a *SearchHub) query(ctx context.Context, term string) ([]hubResult, error) {
	u, err := url.Parse(a.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q: want an http(s) URL", a.Endpoint)
	}
	u.Path = path.Join(u.Path, "api/chartsvc/v1/charts/search")
	u.RawQuery = "q=" + url.QueryEscape(term)
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", repo.UserAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to fetch %s : %s", u, resp.Status)
	}
	var body struct {
		Data []hubResult `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode the answer of %s: %w", u, err)
	}
	return body.Data, nil
}

const searchHubDesc = `
Search for Helm charts in the Artifact Hub or your own hub instance.

Artifact Hub is a web-based application that enables finding, installing, and
publishing packages and configurations for CNCF projects, including publicly
available distributed charts Helm charts. It is a Cloud Native Computing
Foundation sandbox project. You can browse the hub at https://artifacthub.io/

The [KEYWORD] argument accepts either a keyword string, or quoted string of rich
query options. For rich query options documentation, see
https://artifacthub.github.io/hub/api/?urls.primaryName=Monocular%20compatible%20search%20API#/Monocular/get_api_chartsvc_v1_charts_search

Previous versions of Helm used an instance of Monocular as the default
'endpoint', so for backwards compatibility Artifact Hub is compatible with the
Monocular search API. Similarly, when setting the 'endpoint' flag, the specified
endpoint must also be implement a Monocular compatible search API endpoint.
Note that when specifying a Monocular instance as the 'endpoint', rich queries
are not supported. For API details, see https://github.com/helm/monocular

A chartd server serves this API: 'helm search hub --endpoint http://<chartd> KEYWORD'
lists the charts of every repository you may read there, pushed through either
protocol.
`

func newSearchHubCmd(env *Env) *cobra.Command {
	a := &SearchHub{Env: env}
	cmd := &cobra.Command{
		Use:   "hub [KEYWORD]",
		Short: "search for charts in the Artifact Hub or your own hub instance",
		Long:  searchHubDesc,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Terms = args
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Endpoint, "endpoint", "https://hub.helm.sh", "Hub instance to query for charts")
	f.UintVar(&a.MaxColWidth, "max-col-width", 50, "maximum column width for output table")
	f.BoolVar(&a.ListRepoURL, "list-repo-url", false, "print charts repository URL")
	f.BoolVar(&a.FailOnNoResult, "fail-on-no-result", false, "search fails if no results are found")
	f.DurationVar(&a.Timeout, "timeout", 30*time.Second, "time to wait for the hub's answer (not in real Helm)")
	bindOutputFlag(f, &a.Output)
	return cmd
}
