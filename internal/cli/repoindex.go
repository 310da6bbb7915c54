package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/repo"
)

// RepoIndex is `helm repo index DIR`.
type RepoIndex struct {
	Env   *Env
	Dir   string
	URL   string
	Merge string
	JSON  bool
}

// Run writes DIR/index.yaml.
func (a *RepoIndex) Run(ctx context.Context, _ io.Writer) error {
	dir, err := filepath.Abs(a.Dir)
	if err != nil {
		return err
	}
	idx, err := repo.IndexDirectory(ctx, dir, a.URL)
	if err != nil {
		return err
	}
	if a.Merge != "" {
		var old *index.File
		if _, err := os.Stat(a.Merge); errors.Is(err, os.ErrNotExist) {
			// Helm creates the missing merge target, empty.
			old = index.New(time.Now())
			if err := repo.WriteIndexFile(old, a.Merge, a.JSON); err != nil {
				return err
			}
		} else if old, err = repo.LoadIndexFile(a.Merge); err != nil {
			return fmt.Errorf("merge failed: %w", err)
		}
		idx.Merge(old)
	}
	idx.SortEntries()
	return repo.WriteIndexFile(idx, filepath.Join(dir, "index.yaml"), a.JSON)
}

const repoIndexDesc = `
Read the current directory, generate an index file based on the charts found
and write the result to 'index.yaml' in the current directory.

This tool is used for creating an 'index.yaml' file for a chart repository. To
set an absolute URL to the charts, use '--url' flag.

To merge the generated index with an existing index file, use the '--merge'
flag. In this case, the charts found in the current directory will be merged
into the index passed in with --merge, with local charts taking priority over
existing charts.
`

func newRepoIndexCmd(env *Env) *cobra.Command {
	a := &RepoIndex{Env: env}
	cmd := &cobra.Command{
		Use:   "index [DIR]",
		Short: "generate an index file given a directory containing packaged charts",
		Long:  repoIndexDesc,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Dir = args[0]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.URL, "url", "", "url of chart repository")
	f.StringVar(&a.Merge, "merge", "", "merge the generated index into the given index")
	f.BoolVar(&a.JSON, "json", false, "output in JSON format")
	return cmd
}
