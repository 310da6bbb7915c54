package chart

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Expand unpacks a chart archive into dir/<chart name>/ (helm pull --untar,
// chartutil.ExpandFile), with ReadArchive's guards and default Limits: the
// whole archive is read and checked (entry names, sizes, data after the tar
// archive, Chart.yaml's size) before the first file is written, so a
// refused archive writes nothing. Files are written under the names the
// loader gives them, subchart archives included, so what lands on disk is
// what a loader reads. Like Helm's Expand it does not validate the chart
// beyond its name. Writing goes through os.Root, so no entry can land
// outside dir even if a directory inside it is a symlink.
func Expand(ctx context.Context, dir string, r io.Reader) error {
	b := newBudget(Limits{})
	files, err := readArchiveFiles(ctx, r, b, keepAll)
	if err != nil {
		return err
	}
	var md *Metadata
	for _, f := range files {
		if f.Name == ChartfileName {
			if md, err = ParseMetadata(f.Data); err != nil {
				return err
			}
		}
	}
	if md == nil {
		return ErrNoChartYaml
	}
	if md.Name == "" || md.Name == "." || md.Name == ".." || strings.ContainsAny(md.Name, `/\`) {
		return validationErrorf("chart.metadata.name %q is invalid", md.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Join(md.Name, f.Name)
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return fmt.Errorf("chart: expanding %s: %w", name, err)
		}
		if err := root.WriteFile(name, f.Data, 0o644); err != nil {
			return fmt.Errorf("chart: expanding %s: %w", name, err)
		}
	}
	return nil
}
