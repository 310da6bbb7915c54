package values

import (
	"fmt"
	"sort"

	"github.com/chartd/chartd/chart"
)

// Coalescing follows Helm's chartutil semantics, because charts in the wild
// depend on every corner of it:
//
//   - user values win over chart defaults, tables are merged recursively;
//   - a user value of null deletes the chart default (coalesce mode only;
//     merge mode, used while processing dependencies, keeps the nulls so a
//     later coalesce can still see them);
//   - each subchart gets its own table, keyed by its name (or alias), with
//     the parent's "global" table merged into the subchart's "global".

// Coalescer coalesces values, reporting to Warn each conflict it resolves
// by dropping a value (a table where a scalar was, or the reverse); Helm
// logs those, and users see them. The zero value drops the reports; the
// package-level functions use it.
type Coalescer struct {
	Warn WarnFunc
}

// CoalesceValues returns the chart's default values overlaid with vals,
// recursively for every subchart, deleting keys set to null. vals is not
// modified.
func CoalesceValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return Coalescer{}.CoalesceValues(ch, vals)
}

// MergeChartValues is CoalesceValues without null deletion: nulls given by
// the user survive, so that they can delete keys in a later coalesce.
func MergeChartValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return Coalescer{}.MergeChartValues(ch, vals)
}

// CoalesceTables merges src into dst (dst wins), deleting keys whose dst
// value is null, and returns dst. src may be modified.
func CoalesceTables(dst, src map[string]interface{}) map[string]interface{} {
	return Coalescer{}.CoalesceTables(dst, src)
}

// MergeTables is CoalesceTables keeping null values.
func MergeTables(dst, src map[string]interface{}) map[string]interface{} {
	return Coalescer{}.MergeTables(dst, src)
}

// CoalesceValues is the package's CoalesceValues, reporting conflicts.
func (co Coalescer) CoalesceValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return co.coalesce(ch, Copy(vals), "", false)
}

// MergeChartValues is the package's MergeChartValues, reporting conflicts.
func (co Coalescer) MergeChartValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return co.coalesce(ch, Copy(vals), "", true)
}

// CoalesceTables is the package's CoalesceTables, reporting conflicts.
func (co Coalescer) CoalesceTables(dst, src map[string]interface{}) map[string]interface{} {
	return co.coalesceTables(dst, src, "", false)
}

// MergeTables is the package's MergeTables, reporting conflicts.
func (co Coalescer) MergeTables(dst, src map[string]interface{}) map[string]interface{} {
	return co.coalesceTables(dst, src, "", true)
}

// Warning reports w to Warn, for the callers that process values
// around coalescing (dependency conditions, tags, import-values).
func (co Coalescer) Warning(w Warning) {
	if co.Warn != nil {
		co.Warn(w)
	}
}

func (co Coalescer) warn(kind WarningKind, key string, val interface{}) {
	if co.Warn != nil {
		co.Warn(Warning{Kind: kind, Key: key, Value: val})
	}
}

// concatPrefix joins key paths as Helm names them in its warnings.
func concatPrefix(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// sortedKeys makes the order of warnings reproducible (Helm's follows
// map iteration, so it varies from run to run).
func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (co Coalescer) coalesce(ch *chart.Chart, dest map[string]interface{}, prefix string, merge bool) (map[string]interface{}, error) {
	co.coalesceChartValues(ch, dest, prefix, merge)
	return co.coalesceDeps(ch, dest, prefix, merge)
}

func (co Coalescer) coalesceDeps(ch *chart.Chart, dest map[string]interface{}, prefix string, merge bool) (map[string]interface{}, error) {
	for _, sub := range ch.Dependencies() {
		name := sub.Name()
		c, ok := dest[name]
		if !ok {
			c = map[string]interface{}{}
			dest[name] = c
		}
		dv, ok := c.(map[string]interface{})
		if !ok {
			// Helm formats the value with %t; keep its message.
			return dest, fmt.Errorf("type mismatch on %s: %t", name, c)
		}
		subPrefix := concatPrefix(prefix, ch.Name())
		co.coalesceGlobals(dv, dest, subPrefix)
		out, err := co.coalesce(sub, dv, subPrefix, merge)
		dest[name] = out
		if err != nil {
			return dest, err
		}
	}
	return dest, nil
}

// coalesceGlobals copies the parent's globals into the subchart's values;
// the parent's globals win over the subchart's own.
func (co Coalescer) coalesceGlobals(dest, src map[string]interface{}, prefix string) {
	var dg, sg map[string]interface{}
	if g, ok := dest[GlobalKey]; !ok {
		dg = map[string]interface{}{}
	} else if dg, ok = g.(map[string]interface{}); !ok {
		co.warn(WarnGlobalsDestNotTable, GlobalKey, nil)
		return
	}
	if g, ok := src[GlobalKey]; !ok {
		sg = map[string]interface{}{}
	} else if sg, ok = g.(map[string]interface{}); !ok {
		co.warn(WarnGlobalsSrcNotTable, GlobalKey, nil)
		return
	}
	for _, key := range sortedKeys(sg) {
		val := sg[key]
		if vt, ok := val.(map[string]interface{}); ok {
			// A shallow copy, as Helm does: nested tables stay shared.
			vv := make(map[string]interface{}, len(vt))
			for k, x := range vt {
				vv[k] = x
			}
			if destv, ok := dg[key]; !ok {
				dg[key] = vv
			} else if destm, ok := destv.(map[string]interface{}); ok {
				co.coalesceTables(vv, destm, concatPrefix(prefix, key), true)
				dg[key] = vv
			} else {
				co.warn(WarnGlobalMapOntoNonMap, key, nil)
			}
		} else if dv, ok := dg[key]; ok && isTable(dv) {
			// A table is never replaced by a scalar.
			co.warn(WarnGlobalIsTable, key, nil)
		} else {
			dg[key] = val
		}
	}
	dest[GlobalKey] = dg
}

// coalesceChartValues fills v with the chart's defaults.
func (co Coalescer) coalesceChartValues(ch *chart.Chart, v map[string]interface{}, prefix string, merge bool) {
	subPrefix := concatPrefix(prefix, ch.Name())
	defaults := Copy(ch.Values)
	for _, key := range sortedKeys(defaults) {
		val := defaults[key]
		value, ok := v[key]
		if !ok {
			v[key] = val
			continue
		}
		if value == nil && !merge {
			delete(v, key)
			continue
		}
		dest, ok := value.(map[string]interface{})
		if !ok {
			continue
		}
		src, ok := val.(map[string]interface{})
		if !ok {
			if val != nil {
				co.warn(WarnSkippedNotTable, subPrefix+"."+key, nil)
			}
			continue
		}
		// Subchart tables are merged, not coalesced: their nulls must
		// reach the subchart's own coalesce to delete its defaults.
		m := merge
		for _, sub := range ch.Dependencies() {
			if sub.Name() == key {
				m = true
				break
			}
		}
		co.coalesceTables(dest, src, concatPrefix(subPrefix, key), m)
	}
}

func (co Coalescer) coalesceTables(dst, src map[string]interface{}, prefix string, merge bool) map[string]interface{} {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src
	}
	srcNonNil := make(map[string]bool, len(src))
	for k, v := range src {
		if v != nil {
			srcNonNil[k] = true
		}
	}
	// A null in dst must also hide the key in src, so that it survives
	// deeper merges.
	for k, v := range dst {
		if v == nil {
			src[k] = nil
		}
	}
	for _, key := range sortedKeys(src) {
		val := src[key]
		fullKey := concatPrefix(prefix, key)
		dv, ok := dst[key]
		switch {
		case ok && !merge && dv == nil && srcNonNil[key]:
			delete(dst, key)
		case !ok:
			dst[key] = val
		case isTable(val):
			if isTable(dv) {
				co.coalesceTables(dv.(map[string]interface{}), val.(map[string]interface{}), fullKey, merge)
			} else {
				co.warn(WarnTableOverNonTable, fullKey, val)
			}
		case isTable(dv) && val != nil:
			co.warn(WarnNonTableOverTable, fullKey, val)
		}
	}
	return dst
}
