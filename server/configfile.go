package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// LoadFile overlays the YAML (or JSON) config file at path onto c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if err := c.load(b); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// load overlays a config document onto c. Durations are written as the
// flags take them ("90s", "1h"): decoded as JSON, a time.Duration would
// only take a count of nanoseconds, and `gcGrace: 1h` was refused.
func (c *Config) load(doc []byte) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil {
		// Not a mapping (or empty): the strict decode says what is wrong.
		return yaml.UnmarshalStrict(doc, c)
	}
	var errs []error
	for name := range durationFields() {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		var text string
		if json.Unmarshal(raw, &text) != nil {
			if string(raw) == "0" || string(raw) == "null" {
				continue // zero needs no unit
			}
			errs = append(errs, fmt.Errorf("%s: give a duration with its unit, such as \"90s\" or \"1h\", not %s", name, raw))
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		fields[name], _ = json.Marshal(int64(d))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	j, err = json.Marshal(fields)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(j, c)
}

// durationFields are the JSON names of Config's time.Duration fields.
func durationFields() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type != reflect.TypeFor[time.Duration]() {
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}
