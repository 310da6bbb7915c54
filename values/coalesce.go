package values

import (
	"fmt"

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

// CoalesceValues returns the chart's default values overlaid with vals,
// recursively for every subchart, deleting keys set to null. vals is not
// modified.
func CoalesceValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return coalesce(ch, Copy(vals), false)
}

// MergeChartValues is CoalesceValues without null deletion: nulls given by
// the user survive, so that they can delete keys in a later coalesce.
func MergeChartValues(ch *chart.Chart, vals map[string]interface{}) (Values, error) {
	return coalesce(ch, Copy(vals), true)
}

// CoalesceTables merges src into dst (dst wins), deleting keys whose dst
// value is null, and returns dst. src may be modified.
func CoalesceTables(dst, src map[string]interface{}) map[string]interface{} {
	return coalesceTables(dst, src, false)
}

// MergeTables is CoalesceTables keeping null values.
func MergeTables(dst, src map[string]interface{}) map[string]interface{} {
	return coalesceTables(dst, src, true)
}

func coalesce(ch *chart.Chart, dest map[string]interface{}, merge bool) (map[string]interface{}, error) {
	coalesceChartValues(ch, dest, merge)
	return coalesceDeps(ch, dest, merge)
}

func coalesceDeps(ch *chart.Chart, dest map[string]interface{}, merge bool) (map[string]interface{}, error) {
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
		coalesceGlobals(dv, dest)
		out, err := coalesce(sub, dv, merge)
		dest[name] = out
		if err != nil {
			return dest, err
		}
	}
	return dest, nil
}

// coalesceGlobals copies the parent's globals into the subchart's values;
// the parent's globals win over the subchart's own.
func coalesceGlobals(dest, src map[string]interface{}) {
	var dg, sg map[string]interface{}
	if g, ok := dest[GlobalKey]; !ok {
		dg = map[string]interface{}{}
	} else if dg, ok = g.(map[string]interface{}); !ok {
		return
	}
	if g, ok := src[GlobalKey]; !ok {
		sg = map[string]interface{}{}
	} else if sg, ok = g.(map[string]interface{}); !ok {
		return
	}
	for key, val := range sg {
		if vt, ok := val.(map[string]interface{}); ok {
			// A shallow copy, as Helm does: nested tables stay shared.
			vv := make(map[string]interface{}, len(vt))
			for k, x := range vt {
				vv[k] = x
			}
			if destv, ok := dg[key]; !ok {
				dg[key] = vv
			} else if destm, ok := destv.(map[string]interface{}); ok {
				coalesceTables(vv, destm, true)
				dg[key] = vv
			}
		} else if dv, ok := dg[key]; ok && isTable(dv) {
			// A table is never replaced by a scalar.
		} else {
			dg[key] = val
		}
	}
	dest[GlobalKey] = dg
}

// coalesceChartValues fills v with the chart's defaults.
func coalesceChartValues(ch *chart.Chart, v map[string]interface{}, merge bool) {
	defaults := Copy(ch.Values)
	for key, val := range defaults {
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
		coalesceTables(dest, src, m)
	}
}

func coalesceTables(dst, src map[string]interface{}, merge bool) map[string]interface{} {
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
	for key, val := range src {
		dv, ok := dst[key]
		switch {
		case ok && !merge && dv == nil && srcNonNil[key]:
			delete(dst, key)
		case !ok:
			dst[key] = val
		case isTable(val):
			if isTable(dv) {
				coalesceTables(dv.(map[string]interface{}), val.(map[string]interface{}), merge)
			}
		}
	}
	return dst
}
