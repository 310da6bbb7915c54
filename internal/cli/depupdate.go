package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
)

// updateMissingDependencies is --dependency-update of install and upgrade:
// when ch (loaded from path) lacks a dependency its Chart.yaml declares,
// `helm dependency update` runs on path (the one implementation, in
// dependency.go), printing its progress to out as Helm does, and the chart
// is loaded again with what it fetched. Without the flag, or when nothing
// is missing, ch is returned as it is: rendering then reports what is
// missing in Helm's words.
func updateMissingDependencies(ctx context.Context, env *Env, opts *ChartPathOptions, path string, ch *chart.Chart, out io.Writer) (*chart.Chart, error) {
	if render.CheckDependencies(ch) == nil {
		return ch, nil
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		// Helm's manager cannot write into an archive either.
		return nil, fmt.Errorf("chart %s is not a directory: its dependencies cannot be updated", path)
	}
	du := &DependencyUpdate{Env: env, ChartPath: path, Keyring: opts.Keyring, ChartPathOptions: *opts}
	if err := du.Run(ctx, out); err != nil {
		return nil, err
	}
	ch, err := chart.Load(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("failed reloading chart after repo update: %w", err)
	}
	return ch, nil
}
