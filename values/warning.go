package values

import "fmt"

// WarningKind names a conflict that coalescing resolves by dropping a
// value. Helm logs each kind from its own source line.
type WarningKind int

// The kinds, in the order Helm's coalesce.go logs them.
const (
	// WarnGlobalsDestNotTable: a subchart's "global" is not a table.
	WarnGlobalsDestNotTable WarningKind = iota + 1
	// WarnGlobalsSrcNotTable: the parent's "global" is not a table.
	WarnGlobalsSrcNotTable
	// WarnGlobalMapOntoNonMap: a parent global table meets a subchart scalar.
	WarnGlobalMapOntoNonMap
	// WarnGlobalIsTable: a parent global scalar meets a subchart table.
	WarnGlobalIsTable
	// WarnSkippedNotTable: a user table meets a chart default scalar.
	WarnSkippedNotTable
	// WarnTableOverNonTable: a default table meets a user scalar.
	WarnTableOverNonTable
	// WarnNonTableOverTable: a default scalar meets a user table.
	WarnNonTableOverTable

	// Dependency processing (Helm's chartutil/dependencies.go) reads
	// values too, and warns of these.

	// WarnConditionNotBool: a dependency's condition path holds no bool;
	// Key is the path, Value the dependency's name.
	WarnConditionNotBool
	// WarnConditionPath: a condition path could not be read; Value is
	// the error.
	WarnConditionPath
	// WarnTagNotBool: a tag's value is no bool; Key is the tag, Value the
	// dependency's name.
	WarnTagNotBool
	// WarnImportMissingTable: an import-values child path is no table;
	// Key is the dependency's name, Value the error.
	WarnImportMissingTable
	// WarnImportMissingExports: an exports.<name> import is no table;
	// Value is the error.
	WarnImportMissingExports
)

// Warning is one conflict: Key is the dotted path (chart names included,
// as Helm prints it), Value the dropped value where Helm shows it.
type Warning struct {
	Kind  WarningKind
	Key   string
	Value interface{}
}

// WarnFunc receives coalescing warnings.
type WarnFunc func(Warning)

// String is the warning as Helm words it (without its log prefix).
func (w Warning) String() string {
	switch w.Kind {
	case WarnGlobalsDestNotTable:
		return fmt.Sprintf("warning: skipping globals because destination %s is not a table.", w.Key)
	case WarnGlobalsSrcNotTable:
		return fmt.Sprintf("warning: skipping globals because source %s is not a table.", w.Key)
	case WarnGlobalMapOntoNonMap:
		return fmt.Sprintf("Conflict: cannot merge map onto non-map for %q. Skipping.", w.Key)
	case WarnGlobalIsTable:
		return fmt.Sprintf("key %s is table. Skipping", w.Key)
	case WarnSkippedNotTable:
		return fmt.Sprintf("warning: skipped value for %s: Not a table.", w.Key)
	case WarnTableOverNonTable:
		return fmt.Sprintf("warning: cannot overwrite table with non table for %s (%v)", w.Key, w.Value)
	case WarnNonTableOverTable:
		return fmt.Sprintf("warning: destination for %s is a table. Ignoring non-table value (%v)", w.Key, w.Value)
	case WarnConditionNotBool:
		return fmt.Sprintf("Warning: Condition path '%s' for chart %v returned non-bool value", w.Key, w.Value)
	case WarnConditionPath:
		return fmt.Sprintf("Warning: PathValue returned error %v", w.Value)
	case WarnTagNotBool:
		return fmt.Sprintf("Warning: Tag '%s' for chart %v returned non-bool value", w.Key, w.Value)
	case WarnImportMissingTable:
		return fmt.Sprintf("Warning: ImportValues missing table from chart %s: %v", w.Key, w.Value)
	case WarnImportMissingExports:
		return fmt.Sprintf("Warning: ImportValues missing table: %v", w.Value)
	}
	return fmt.Sprintf("warning: %s", w.Key)
}
