package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// actionConfig connects to the cluster of the global flags, for the
// release namespace (-n, else the kubeconfig context's, else default).
func actionConfig(env *Env) (*action.Configuration, error) {
	s := env.Settings
	drv, _ := env.Lookup("HELM_DRIVER")
	cfg, err := action.New(action.Options{
		Flags: kube.ConfigFlags{
			Kubeconfig: s.KubeConfig, Context: s.KubeContext, Token: s.KubeToken,
			AsUser: s.KubeAsUser, AsGroups: s.KubeAsGroups, APIServer: s.KubeAPIServer,
			CAFile: s.KubeCaFile, TLSServerName: s.KubeTLSServer, Insecure: s.KubeInsecure,
			Namespace: s.Namespace, QPS: s.QPS, Burst: s.BurstLimit,
		},
		Driver: drv, MaxHistory: s.MaxHistory, Logger: env.Logger,
	})
	if err != nil {
		return nil, err
	}
	// Hook logs asked for by helm.sh/hook-output-log-policy go to stderr,
	// where Helm 3 writes them.
	cfg.HookOutput = func(_, _, _ string, log io.Reader) error {
		_, err := io.Copy(env.Err, log)
		return err
	}
	return cfg, nil
}

// loadChart locates (downloading when needed) and loads a chart reference;
// with depUpdate it first fetches the dependencies the chart lacks
// (--dependency-update).
func loadChart(ctx context.Context, env *Env, opts *ChartPathOptions, ref string, depUpdate bool) (*chart.Chart, error) {
	p, err := locateInstallChart(ctx, env, opts, ref)
	if err != nil {
		return nil, err
	}
	return loadChartDependencies(ctx, env, env.Out, opts, p, depUpdate)
}

// generatedName is --generate-name's: the chart's base name and the time.
func generatedName(chartRef string) string {
	base := strings.TrimSuffix(filepath.Base(chartRef), ".tgz")
	base = regexp.MustCompile(`[^-a-z0-9]+`).ReplaceAllString(strings.ToLower(base), "")
	return fmt.Sprintf("%s-%d", base, time.Now().Unix())
}

// statusOptions choose what printRelease shows beyond Helm's default.
type statusOptions struct {
	showDescription bool
	showMetadata    bool
	hideNotes       bool
	debug           bool
	// resources are --show-resources' live objects, as Tables.
	resources map[string][]runtime.Object
}

// printRelease prints a release as `helm status` / install / upgrade do.
func printRelease(out io.Writer, r *release.Release, format outputFormat, o statusOptions) error {
	switch format {
	case formatJSON:
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case formatYAML:
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return writeYAML(out, v)
	}
	fmt.Fprintf(out, "NAME: %s\n", r.Name)
	if !r.Info.LastDeployed.IsZero() {
		fmt.Fprintf(out, "LAST DEPLOYED: %s\n", r.Info.LastDeployed.Format(time.ANSIC))
	}
	fmt.Fprintf(out, "NAMESPACE: %s\n", r.Namespace)
	fmt.Fprintf(out, "STATUS: %s\n", r.Info.Status)
	fmt.Fprintf(out, "REVISION: %d\n", r.Version)
	if o.showMetadata {
		fmt.Fprintf(out, "CHART: %s\nVERSION: %s\nAPP_VERSION: %s\n", r.ChartName(), r.ChartVersion(), r.AppVersion())
	}
	if o.showDescription {
		fmt.Fprintf(out, "DESCRIPTION: %s\n", r.Info.Description)
	}
	printResources(out, o.resources)
	var tests []*release.Hook
	for _, h := range r.Hooks {
		for _, e := range h.Events {
			if e == "test" {
				tests = append(tests, h)
			}
		}
	}
	if len(tests) == 0 {
		fmt.Fprintln(out, "TEST SUITE: None")
	}
	for _, h := range tests {
		if h.LastRun.StartedAt.IsZero() {
			continue
		}
		fmt.Fprintf(out, "TEST SUITE:     %s\nLast Started:   %s\nLast Completed: %s\nPhase:          %s\n",
			h.Name, h.LastRun.StartedAt.Format(time.ANSIC), h.LastRun.CompletedAt.Format(time.ANSIC), h.LastRun.Phase)
	}
	if o.debug {
		fmt.Fprintln(out, "USER-SUPPLIED VALUES:")
		if err := writeYAML(out, r.Config); err != nil {
			return err
		}
		fmt.Fprintln(out)
		computed := map[string]any(nil)
		if r.Chart != nil {
			v, err := values.CoalesceValues(r.Chart, r.Config)
			if err != nil {
				return err
			}
			computed = v
		}
		fmt.Fprintln(out, "COMPUTED VALUES:")
		if err := writeYAML(out, computed); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	if strings.EqualFold(r.Info.Description, "Dry run complete") || o.debug {
		fmt.Fprintln(out, "HOOKS:")
		for _, h := range r.Hooks {
			fmt.Fprintf(out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
		}
		fmt.Fprintf(out, "MANIFEST:\n%s\n", r.Manifest)
	}
	if !o.hideNotes && r.Info.Notes != "" {
		fmt.Fprintf(out, "NOTES:\n%s\n", strings.TrimSpace(r.Info.Notes))
	}
	return nil
}
