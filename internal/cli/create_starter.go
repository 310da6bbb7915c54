package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// fromStarter creates the chart cdir from a starter chart as Helm does
// (chartutil.CreateFrom): the starter is loaded like any chart (so its
// .helmignore applies, and is itself copied), its Chart.yaml is replaced
// by helm create's (the new name, version and appVersion 0.1.0), and
// <CHARTNAME> is replaced in templates and values.yaml. Files are
// written, with their dots, by what the chart holds: no empty charts/,
// and subcharts as archives.
func (a *Create) fromStarter(ctx context.Context, src, cdir, name string) error {
	st, err := chart.Load(ctx, src)
	if err != nil {
		return fmt.Errorf("could not load %s: %w", src, err)
	}
	md, err := yaml.Marshal(&chart.Metadata{
		Name: name, Description: "A Helm chart for Kubernetes", Type: "application",
		Version: "0.1.0", AppVersion: "0.1.0", APIVersion: chart.APIVersionV2,
	})
	if err != nil {
		return err
	}
	if fi, err := os.Stat(cdir); err == nil && !fi.IsDir() {
		return fmt.Errorf("file %s already exists and is not a directory", cdir)
	}
	placeholder := []byte("<CHARTNAME>")
	write := func(rel string, data []byte) error {
		p := filepath.Join(cdir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	if err := write(chart.ChartfileName, md); err != nil {
		return err
	}
	for _, f := range st.Raw {
		if f.Name == chart.ValuesFileName {
			if err := write(f.Name, bytes.ReplaceAll(f.Data, placeholder, []byte(name))); err != nil {
				return err
			}
		}
	}
	if st.Schema != nil {
		if err := write(chart.SchemaFileName, st.Schema); err != nil {
			return err
		}
	}
	for _, f := range st.Templates {
		if err := write(f.Name, bytes.ReplaceAll(f.Data, placeholder, []byte(name))); err != nil {
			return err
		}
	}
	for _, f := range st.Files {
		if err := write(f.Name, f.Data); err != nil {
			return err
		}
	}
	for _, dep := range st.Dependencies() {
		if _, err := chart.Save(ctx, dep, filepath.Join(cdir, chart.ChartsDir)); err != nil {
			return fmt.Errorf("saving %s: %w", dep.ChartFullPath(), err)
		}
	}
	return nil
}
