package lint

import (
	"context"
	"fmt"
	"strings"

	"github.com/chartd/chartd/chart"
)

// dependencies compares Chart.yaml's dependencies with charts/, as Helm's
// rules.Dependencies. Its messages name the chart's absolute directory.
func (l *linter) dependencies(ctx context.Context) {
	c, err := chart.LoadDir(ctx, l.dir)
	if err != nil {
		l.run(Error, "", fmt.Errorf("unable to load chart\n\t%w", err))
		return
	}
	l.run(Error, l.dir, undeclaredDependencies(c))
	l.run(Error, l.dir, shadowedDependencies(c))
	l.run(Warning, l.dir, missingDependencies(c))
}

// undeclaredDependencies: charts/ holds a chart Chart.yaml does not name.
func undeclaredDependencies(c *chart.Chart) error {
	declared := map[string]bool{}
	for _, d := range c.Metadata.Dependencies {
		declared[d.Name] = true
	}
	var missing []string
	for _, d := range c.Dependencies() {
		if !declared[d.Name()] {
			missing = append(missing, d.Name())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart metadata is missing these dependencies: %s", strings.Join(missing, ","))
	}
	return nil
}

// shadowedDependencies: two dependencies share a name or alias.
func shadowedDependencies(c *chart.Chart) error {
	seen := map[string]bool{}
	var shadowed []string
	for _, d := range c.Metadata.Dependencies {
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		if seen[key] {
			shadowed = append(shadowed, key)
		}
		seen[key] = true
	}
	if len(shadowed) > 0 {
		return fmt.Errorf("multiple dependencies with name or alias: %s", strings.Join(shadowed, ","))
	}
	return nil
}

// missingDependencies: Chart.yaml names a chart charts/ does not hold
// (`helm dependency update` has not run).
func missingDependencies(c *chart.Chart) error {
	present := map[string]bool{}
	for _, d := range c.Dependencies() {
		present[d.Name()] = true
	}
	var missing []string
	for _, d := range c.Metadata.Dependencies {
		if !present[d.Name] {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart directory is missing these dependencies: %s", strings.Join(missing, ","))
	}
	return nil
}
