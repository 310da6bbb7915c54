// Package values holds chart values the way Helm 3 treats them: reading
// values.yaml files, coalescing user values with chart defaults (including
// null deletion and globals), parsing --set style flags, merging
// command-line value options in Helm's order, and validating against
// values.schema.json.
//
// Values are plain map[string]interface{} trees as produced by
// sigs.k8s.io/yaml: numbers read from YAML or JSON are float64, numbers
// parsed from --set are int64, exactly as in Helm, because templates can
// observe the difference (for example through printf "%T" or toJson).
package values

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// GlobalKey is the values key whose table is copied into every subchart.
const GlobalKey = "global"

// Values is a tree of chart values.
type Values map[string]interface{}

// ErrNoTable reports that a path element does not name a table.
var ErrNoTable = errors.New("is not a table")

// ErrNoValue reports that a path does not name a non-table value.
var ErrNoValue = errors.New("is not a value")

// KeyError carries the offending key of ErrNoTable and ErrNoValue; its
// message is Helm's (`"key" is not a table`).
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("%q %s", e.Key, e.Err.Error()) }

// Unwrap lets errors.Is match ErrNoTable or ErrNoValue.
func (e *KeyError) Unwrap() error { return e.Err }

// YAML encodes the values as YAML.
func (v Values) YAML() (string, error) {
	b, err := yaml.Marshal(v)
	return string(b), err
}

// AsMap returns the values as a plain map, never nil.
func (v Values) AsMap() map[string]interface{} {
	if len(v) == 0 {
		return map[string]interface{}{}
	}
	return v
}

// Table returns the table at a dotted path such as "a.b". Like Helm, on
// failure it returns the last table reached along with the error.
func (v Values) Table(name string) (Values, error) {
	table := v
	var err error
	for _, n := range strings.Split(name, ".") {
		if table, err = tableLookup(table, n); err != nil {
			break
		}
	}
	return table, err
}

func tableLookup(v Values, key string) (Values, error) {
	x, ok := v[key]
	if !ok {
		return v, &KeyError{Key: key, Err: ErrNoTable}
	}
	switch t := x.(type) {
	case map[string]interface{}:
		return t, nil
	case Values:
		return t, nil
	}
	return Values{}, &KeyError{Key: key, Err: ErrNoTable}
}

// PathValue returns the non-table value at a dotted path.
func (v Values) PathValue(path string) (interface{}, error) {
	if path == "" {
		return nil, errors.New("YAML path cannot be empty")
	}
	parts := strings.Split(path, ".")
	key := parts[len(parts)-1]
	t := v
	if len(parts) > 1 {
		var err error
		if t, err = v.Table(strings.Join(parts[:len(parts)-1], ".")); err != nil {
			return nil, &KeyError{Key: key, Err: ErrNoValue}
		}
	}
	if x, ok := t[key]; ok && !isTable(x) {
		return x, nil
	}
	return nil, &KeyError{Key: key, Err: ErrNoValue}
}

// ReadValues parses YAML values. An empty document gives empty values.
func ReadValues(data []byte) (Values, error) {
	var vals Values
	err := yaml.Unmarshal(data, &vals)
	if len(vals) == 0 {
		vals = Values{}
	}
	return vals, err
}

// ReadValuesFile reads and parses a YAML values file.
func ReadValuesFile(filename string) (Values, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return Values{}, err
	}
	return ReadValues(data)
}

func isTable(v interface{}) bool {
	_, ok := v.(map[string]interface{})
	return ok
}

// deepCopy copies the maps and slices of a values tree so that coalescing
// never mutates a chart's defaults or the caller's values.
func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		if t == nil {
			return t
		}
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case Values:
		return Values(deepCopy(map[string]interface{}(t)).(map[string]interface{}))
	case []interface{}:
		if t == nil {
			return t
		}
		s := make([]interface{}, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// Copy returns a deep copy of a values map (never nil).
func Copy(m map[string]interface{}) map[string]interface{} {
	if m == nil {
		return map[string]interface{}{}
	}
	return deepCopy(m).(map[string]interface{})
}
