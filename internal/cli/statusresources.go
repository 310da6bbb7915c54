package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// withResources reads the live resources of r for --show-resources: as
// Tables for the table output (printed as kubectl get prints them), else
// into the release's info.resources, as Helm 3 does for -o json|yaml.
func withResources(ctx context.Context, cfg *action.Configuration, r *release.Release, format outputFormat) (*release.Release, map[string][]runtime.Object, error) {
	res, err := (&action.Get{Cfg: cfg}).Resources(ctx, r, format == formatTable)
	if err != nil {
		return nil, nil, err
	}
	if format == formatTable {
		return r, res, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, nil, err
	}
	shown := *r
	info := *r.Info
	info.Resources = b
	shown.Info = &info
	return &shown, nil, nil
}

// printResources prints the RESOURCES section as Helm 3.22 does: per
// "version/Kind", each object through one kubectl table printer (so a
// header repeats only when the columns change). Helm walks a map, in no
// fixed order; this prints the kinds sorted.
func printResources(out io.Writer, res map[string][]runtime.Object) {
	if len(res) == 0 {
		return
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := printers.NewTablePrinter(printers.PrintOptions{ColumnLabels: []string{}})
	var buf bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&buf, "==> %s\n", k)
		for _, obj := range res[k] {
			if t, ok := kube.ToTable(obj); ok {
				obj = t
			}
			if err := p.PrintObj(obj, &buf); err != nil {
				fmt.Fprintf(&buf, "failed to print object type %s: %v\n", k, err)
			}
		}
		buf.WriteString("\n")
	}
	fmt.Fprintf(out, "RESOURCES:\n%s\n", buf.String())
}
