package cli

import (
	"fmt"
	"io"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/values"
)

// helmLog prints on stderr what Helm prints through Go's log package:
// Helm sets log.Lshortfile, so each line starts with the file and line of
// Helm's source that logged it. Scripts and CI filters match those lines,
// so they are reproduced for Helm v3.22.0's sources.
type helmLog struct{ w io.Writer }

// Helm v3.22.0's log sites, by kind.
var (
	engineLogSite = map[engine.LintNoteKind]string{
		engine.NoteRequiredNil:   "engine.go:206",
		engine.NoteRequiredEmpty: "engine.go:214",
		engine.NoteFail:          "engine.go:227",
	}
	valuesLogSite = map[values.WarningKind]string{
		values.WarnGlobalsDestNotTable:  "coalesce.go:138",
		values.WarnGlobalsSrcNotTable:   "coalesce.go:145",
		values.WarnGlobalMapOntoNonMap:  "coalesce.go:161",
		values.WarnGlobalIsTable:        "coalesce.go:175",
		values.WarnSkippedNotTable:      "coalesce.go:237",
		values.WarnTableOverNonTable:    "coalesce.go:316",
		values.WarnNonTableOverTable:    "coalesce.go:319",
		values.WarnConditionNotBool:     "dependencies.go:64",
		values.WarnConditionPath:        "dependencies.go:67",
		values.WarnTagNotBool:           "dependencies.go:95",
		values.WarnImportMissingTable:   "dependencies.go:270",
		values.WarnImportMissingExports: "dependencies.go:287",
	}
)

// Warn prints a lint-mode note of the template engine.
func (h helmLog) Warn(n engine.LintNote) {
	fmt.Fprintf(h.w, "%s: %s\n", engineLogSite[n.Kind], n)
}

// coalesce prints a warning of values coalescing or dependency processing.
func (h helmLog) coalesce(w values.Warning) {
	fmt.Fprintf(h.w, "%s: %s\n", valuesLogSite[w.Kind], w)
}

// skippedHook prints Helm's note on a document dropped for naming an
// unknown hook.
func (h helmLog) skippedHook(hookTypes string) {
	fmt.Fprintf(h.w, "manifest_sorter.go:199: info: skipping unknown hook: %q\n", hookTypes)
}

// warnDeprecated prints Helm's warning when install, upgrade or template
// is given a chart marked deprecated. Helm checks installability first,
// so a library chart fails without the warning.
func warnDeprecated(env *Env, ch *chart.Chart) {
	if ch == nil || ch.Metadata == nil || !ch.Metadata.Deprecated {
		return
	}
	switch ch.Metadata.Type {
	case "", "application":
		env.warn("This chart is deprecated")
	}
}
