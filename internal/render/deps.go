package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/values"
)

// IsCompatibleRange reports whether version satisfies a semver constraint;
// an unparsable version or constraint is simply incompatible.
func IsCompatibleRange(constraint, version string) bool {
	v, err := semver.NewVersion(version)
	if err != nil {
		return false
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	return c.Check(v)
}

// CheckDependencies reports the dependencies declared in Chart.yaml (or
// requirements.yaml) that have no chart in charts/.
func CheckDependencies(ch *chart.Chart) error {
	var missing []string
outer:
	for _, r := range ch.Metadata.Dependencies {
		for _, d := range ch.Dependencies() {
			if d.Name() == r.Name {
				continue outer
			}
		}
		missing = append(missing, r.Name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingDependencies, strings.Join(missing, ", "))
	}
	return nil
}

// copyTree copies the chart tree deeply enough that dependency processing,
// which rewrites metadata, dependency lists and values as Helm does, leaves
// the caller's chart untouched and reusable.
func copyTree(c *chart.Chart) *chart.Chart {
	out := *c
	if c.Metadata != nil {
		md := *c.Metadata
		md.Dependencies = make([]*chart.Dependency, len(c.Metadata.Dependencies))
		for i, d := range c.Metadata.Dependencies {
			if d == nil {
				continue
			}
			dd := *d
			dd.ImportValues = append([]interface{}(nil), d.ImportValues...)
			md.Dependencies[i] = &dd
		}
		if c.Metadata.Dependencies == nil {
			md.Dependencies = nil
		}
		out.Metadata = &md
	}
	out.Values = values.Copy(c.Values)
	subs := make([]*chart.Chart, 0, len(c.Dependencies()))
	for _, d := range c.Dependencies() {
		subs = append(subs, copyTree(d))
	}
	out.SetDependencies(subs...)
	return &out
}

// ProcessDependencies applies Chart.yaml's dependency rules to a chart
// tree, as Helm's install does (ProcessDependenciesWithMerge): aliases
// become copies named after the alias, tags and conditions disable
// subcharts, and import-values copy subchart values into parents. The tree
// is modified in place.
// Coalescing conflicts go to co's Warn, once per coalesce as Helm logs
// them.
func ProcessDependencies(c *chart.Chart, v values.Values, co values.Coalescer) error {
	if err := processEnabled(c, v, "", co); err != nil {
		return err
	}
	return processImportValues(c, co)
}

func aliasDependency(charts []*chart.Chart, dep *chart.Dependency) *chart.Chart {
	for _, c := range charts {
		if c == nil || c.Name() != dep.Name || !IsCompatibleRange(dep.Version, c.Metadata.Version) {
			continue
		}
		out := *c
		md := *c.Metadata
		out.Metadata = &md
		if dep.Alias != "" {
			md.Name = dep.Alias
		}
		return &out
	}
	return nil
}

// processEnabled prunes disabled subcharts, recursively. Conditions are
// dotted paths looked up under path (the subchart's position), tags under
// the top-level "tags" table.
func processEnabled(c *chart.Chart, v map[string]interface{}, path string, co values.Coalescer) error {
	if c.Metadata.Dependencies == nil {
		return nil
	}
	// Subcharts not named in Chart.yaml are always kept; declared ones
	// are replaced by a (possibly aliased) copy per declaration.
	var deps []*chart.Chart
outer:
	for _, existing := range c.Dependencies() {
		for _, req := range c.Metadata.Dependencies {
			if req != nil && existing.Name() == req.Name && IsCompatibleRange(req.Version, existing.Metadata.Version) {
				continue outer
			}
		}
		deps = append(deps, existing)
	}
	for _, req := range c.Metadata.Dependencies {
		if req == nil {
			continue
		}
		if d := aliasDependency(c.Dependencies(), req); d != nil {
			deps = append(deps, d)
		}
		if req.Alias != "" {
			req.Name = req.Alias
		}
	}
	c.SetDependencies(deps...)

	for _, r := range c.Metadata.Dependencies {
		if r != nil {
			r.Enabled = true
		}
	}
	cvals, err := co.CoalesceValues(c, v)
	if err != nil {
		return err
	}
	processTags(c.Metadata.Dependencies, cvals, co)
	processConditions(c.Metadata.Dependencies, cvals, path, co)

	disabled := map[string]bool{}
	for _, r := range c.Metadata.Dependencies {
		if r != nil && !r.Enabled {
			disabled[r.Name] = true
		}
	}
	var keep []*chart.Chart
	for _, d := range c.Dependencies() {
		if !disabled[d.Metadata.Name] {
			keep = append(keep, d)
		}
	}
	var keepMeta []*chart.Dependency
	for _, r := range c.Metadata.Dependencies {
		if r != nil && !disabled[r.Name] {
			keepMeta = append(keepMeta, r)
		}
	}
	for _, d := range keep {
		if err := processEnabled(d, cvals, path+d.Metadata.Name+".", co); err != nil {
			return err
		}
	}
	// Like Helm, an all-disabled list becomes nil, which later skips
	// import-values processing for this chart.
	c.Metadata.Dependencies = append([]*chart.Dependency(nil), keepMeta...)
	c.SetDependencies(keep...)
	return nil
}

// processConditions: the first condition path that holds a bool decides.
func processConditions(reqs []*chart.Dependency, cvals values.Values, path string, co values.Coalescer) {
	for _, r := range reqs {
		if r == nil {
			continue
		}
		for _, cond := range strings.Split(strings.TrimSpace(r.Condition), ",") {
			if cond == "" {
				continue
			}
			v, err := cvals.PathValue(path + cond)
			if err == nil {
				if b, ok := v.(bool); ok {
					r.Enabled = b
					break
				}
				co.Warning(values.Warning{Kind: values.WarnConditionNotBool, Key: cond, Value: r.Name})
			} else if !errors.Is(err, values.ErrNoValue) {
				co.Warning(values.Warning{Kind: values.WarnConditionPath, Value: err})
			}
		}
	}
}

// processTags: any true tag enables, otherwise any false tag disables.
func processTags(reqs []*chart.Dependency, cvals values.Values, co values.Coalescer) {
	vt, err := cvals.Table("tags")
	if err != nil {
		return
	}
	for _, r := range reqs {
		if r == nil {
			continue
		}
		var hasTrue, hasFalse bool
		for _, k := range r.Tags {
			x, ok := vt[k]
			if !ok {
				continue
			}
			if b, ok := x.(bool); !ok {
				co.Warning(values.Warning{Kind: values.WarnTagNotBool, Key: k, Value: r.Name})
			} else if b {
				hasTrue = true
			} else {
				hasFalse = true
			}
		}
		if !hasTrue && hasFalse {
			r.Enabled = false
		} else {
			r.Enabled = true
		}
	}
}

func processImportValues(c *chart.Chart, co values.Coalescer) error {
	for _, d := range c.Dependencies() {
		if err := processImportValues(d, co); err != nil {
			return err
		}
	}
	return importValues(c, co)
}

// importValues copies subchart values into the parent: the map form
// {child: path, parent: path} copies a table, the string form copies the
// child's exports.<name> table to the parent's top level. Parent values
// win over imported ones.
func importValues(c *chart.Chart, co values.Coalescer) error {
	if c.Metadata.Dependencies == nil {
		return nil
	}
	cvals, err := co.MergeChartValues(c, nil)
	if err != nil {
		return err
	}
	b := map[string]interface{}{}
	for _, r := range c.Metadata.Dependencies {
		if r == nil {
			continue
		}
		var out []interface{}
		for _, riv := range r.ImportValues {
			switch iv := riv.(type) {
			case map[string]interface{}:
				child := fmt.Sprintf("%v", iv["child"])
				parent := fmt.Sprintf("%v", iv["parent"])
				out = append(out, map[string]string{"child": child, "parent": parent})
				vv, err := cvals.Table(r.Name + "." + child)
				if err != nil {
					co.Warning(values.Warning{Kind: values.WarnImportMissingTable, Key: r.Name, Value: err})
					continue
				}
				b = co.MergeTables(b, pathToMap(parent, vv.AsMap()))
			case string:
				child := "exports." + iv
				out = append(out, map[string]string{"child": child, "parent": "."})
				vm, err := cvals.Table(r.Name + "." + child)
				if err != nil {
					co.Warning(values.Warning{Kind: values.WarnImportMissingExports, Value: err})
					continue
				}
				b = co.MergeTables(b, vm.AsMap())
			}
		}
		r.ImportValues = out
	}
	c.Values = co.MergeTables(values.Copy(cvals), b)
	return nil
}

func pathToMap(path string, data map[string]interface{}) map[string]interface{} {
	if path == "." {
		return data
	}
	parts := strings.Split(path, ".")
	cur := data
	for i := len(parts) - 1; i >= 0; i-- {
		cur = map[string]interface{}{parts[i]: cur}
	}
	return cur
}
