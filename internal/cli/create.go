package cli

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// scaffold is `helm create`'s chart, byte for byte, with the chart name
// written as <CHARTNAME> (Helm's own placeholder).
//
//go:embed all:scaffold
var scaffold embed.FS

var chartNameRe = regexp.MustCompile("^[a-zA-Z0-9._-]+$")

const maxChartNameLength = 250

// Create is `helm create NAME`.
type Create struct {
	Env     *Env
	Name    string
	Starter string
}

// Run writes the scaffold (or a starter) into Name.
func (a *Create) Run(ctx context.Context, out io.Writer) error {
	fmt.Fprintf(out, "Creating %s\n", a.Name)
	name := filepath.Base(a.Name)
	if name == "" || len(name) > maxChartNameLength {
		return fmt.Errorf("chart name must be between 1 and %d characters", maxChartNameLength)
	}
	if !chartNameRe.MatchString(name) {
		return fmt.Errorf("chart name must match the regular expression %q", chartNameRe.String())
	}
	if a.Starter != "" {
		// Helm creates missing parent directories for a starter.
		dir := a.Starter
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(a.Env.Settings.Paths.DataPath("starters"), a.Starter)
		}
		return a.fromStarter(ctx, dir, filepath.Join(filepath.Dir(a.Name), name), name)
	}
	parent, err := filepath.Abs(filepath.Dir(a.Name))
	if err != nil {
		return err
	}
	if fi, err := os.Stat(parent); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("no such directory %s", parent)
	}
	cdir := filepath.Join(parent, name)
	if fi, err := os.Stat(cdir); err == nil && !fi.IsDir() {
		return fmt.Errorf("file %s already exists and is not a directory", cdir)
	}
	src := fs.FS(scaffold)
	root := "scaffold"
	err = fs.WalkDir(src, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte("<CHARTNAME>"), []byte(name))
		target := filepath.Join(cdir, filepath.FromSlash(rel))
		if _, err := os.Stat(target); err == nil {
			fmt.Fprintf(out, "WARNING: File %q already exists. Overwriting.\n", target)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(cdir, "charts"), 0o755)
}

const createDesc = `
This command creates a chart directory along with the common files and
directories used in a chart.

For example, 'helm create foo' will create a directory structure that looks
something like this:

    foo/
    ├── .helmignore   # Contains patterns to ignore when packaging Helm charts.
    ├── Chart.yaml    # Information about your chart
    ├── values.yaml   # The default values for your templates
    ├── charts/       # Charts that this chart depends on
    └── templates/    # The template files
        └── tests/    # The test files

'helm create' takes a path for an argument. If directories in the given path
do not exist, Helm will attempt to create them as it goes. If the given
destination exists and there are files in that directory, conflicting files
will be overwritten, but other files will be left alone.
`

func newCreateCmd(env *Env) *cobra.Command {
	a := &Create{Env: env}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "create a new chart with the given name",
		Long:  createDesc,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	cmd.Flags().StringVarP(&a.Starter, "starter", "p", "", "the name or absolute path to Helm starter scaffold")
	return cmd
}
