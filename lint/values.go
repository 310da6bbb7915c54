package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chartd/chartd/values"
)

// values checks values.yaml, as Helm's rules.ValuesWithOverrides: it must
// parse, and the user's values coalesced over it must satisfy the chart's
// own values.schema.json. Only the top level is checked, as in Helm:
// subcharts' schemas are the templates rule's business.
func (l *linter) values(overrides values.Values, co values.Coalescer) {
	const f = "values.yaml"
	p := filepath.Join(l.dir, f)
	if _, err := os.Stat(p); err != nil {
		l.run(Info, f, errors.New("file does not exist"))
		return
	}
	l.run(Error, f, valuesFile(p, overrides, co))
}

func valuesFile(p string, overrides values.Values, co values.Coalescer) error {
	vals, err := values.ReadValuesFile(p)
	if err != nil {
		return fmt.Errorf("unable to parse YAML: %w", err)
	}
	merged := co.CoalesceTables(make(map[string]interface{}, len(overrides)), values.Copy(overrides))
	merged = co.CoalesceTables(merged, vals)
	schema, err := os.ReadFile(filepath.Join(filepath.Dir(p), "values.schema.json"))
	if len(schema) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	return values.ValidateAgainstSingleSchema(merged, schema)
}
