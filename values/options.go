package values

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Options are the value flags of helm install/upgrade/template.
type Options struct {
	ValueFiles    []string // -f/--values
	Values        []string // --set
	StringValues  []string // --set-string
	FileValues    []string // --set-file
	JSONValues    []string // --set-json
	LiteralValues []string // --set-literal
}

// FileReader reads a values file or a --set-file argument. It lets the CLI
// plug in URL getters (http://, oci://...) for -f, as Helm does.
type FileReader interface {
	ReadFile(ctx context.Context, name string) ([]byte, error)
}

// OSReader reads local files, and Stdin for the name "-".
type OSReader struct {
	Stdin io.Reader
}

// ReadFile implements FileReader.
func (r OSReader) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "-" {
		in := r.Stdin
		if in == nil {
			in = os.Stdin
		}
		return io.ReadAll(in)
	}
	return os.ReadFile(name)
}

// MergeValues combines the options into one values map in Helm's order:
// value files (later files win, tables merged), then --set-json, --set,
// --set-string, --set-file and --set-literal, each in the given order.
// A nil reader reads local files and stdin.
func (o Options) MergeValues(ctx context.Context, r FileReader) (Values, error) {
	if r == nil {
		r = OSReader{}
	}
	base := map[string]interface{}{}
	for _, name := range o.ValueFiles {
		data, err := r.ReadFile(ctx, name)
		if err != nil {
			return nil, err
		}
		cur, err := readDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", name, err)
		}
		base = mergeMaps(base, cur)
	}
	for _, v := range o.JSONValues {
		if isJSONObject(v) {
			// Helm 4: a whole object, merged like a values file.
			var m map[string]interface{}
			if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &m); err != nil {
				return nil, fmt.Errorf("failed parsing --set-json data JSON: %s", v)
			}
			base = mergeMaps(base, m)
			continue
		}
		if err := ParseSetJSON(v, base); err != nil {
			// Helm drops the cause here; so do we, for identical output.
			return nil, fmt.Errorf("failed parsing --set-json data %s", v)
		}
	}
	for _, v := range o.Values {
		if err := ParseSet(v, base); err != nil {
			return nil, fmt.Errorf("failed parsing --set data: %w", err)
		}
	}
	for _, v := range o.StringValues {
		if err := ParseSetString(v, base); err != nil {
			return nil, fmt.Errorf("failed parsing --set-string data: %w", err)
		}
	}
	for _, v := range o.FileValues {
		read := func(rs []rune) (interface{}, error) {
			data, err := r.ReadFile(ctx, string(rs))
			if err != nil {
				return nil, err
			}
			return string(data), nil
		}
		if err := ParseSetFile(v, base, read); err != nil {
			return nil, fmt.Errorf("failed parsing --set-file data: %w", err)
		}
	}
	for _, v := range o.LiteralValues {
		if err := ParseSetLiteral(v, base); err != nil {
			return nil, fmt.Errorf("failed parsing --set-literal data: %w", err)
		}
	}
	return base, nil
}

// mergeMaps overlays b on a: tables merge recursively, anything else in b
// replaces a's value (nulls included).
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
