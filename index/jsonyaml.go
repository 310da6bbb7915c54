package index

import (
	"bytes"
	"encoding/json"
	"errors"

	"go.yaml.in/yaml/v2"
	sigsyaml "sigs.k8s.io/yaml"
)

// jsonToYAML is sigs.k8s.io/yaml's JSONToYAML, byte for byte, at a
// fraction of its cost. JSONToYAML reads the JSON with go-yaml's parser
// (so that numbers get YAML's types) and marshals the tree it gets; the
// parse is most of the time of rendering an index entry, and a cold start
// renders every entry. Here encoding/json builds the same tree: quoted
// JSON strings are strings to both readers, and only the rare number is
// handed to go-yaml, alone, to be typed exactly as JSONToYAML types it.
//
// j must be what json.Marshal wrote, after escapeUnreadable (marshalYAML
// makes it so): valid UTF-8, no raw control or line-break characters,
// nothing go-yaml's reader refuses. A byte order mark, which go-yaml
// treats specially, takes the slow path.
func jsonToYAML(j []byte) ([]byte, error) {
	if bytes.Contains(j, []byte("\ufeff")) {
		return readerToYAML(j)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return sigsyaml.JSONToYAML(j) // its error, in its words
	}
	if dec.More() {
		return sigsyaml.JSONToYAML(j)
	}
	tree, err := yamlTree(v)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(tree)
}

// readerToYAML is JSONToYAML itself (go-yaml reads the JSON, and writes
// what it read), with the maps' keys put in a deterministic order on the
// way, as yamlTree does.
func readerToYAML(j []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	tree, err := orderTree(v)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(tree)
}

var errNotJSONTree = errors.New("index: unexpected JSON value")

// yamlTree turns what encoding/json decoded (with UseNumber) into what
// go-yaml's Unmarshal into an interface{} gives for the same JSON.
func yamlTree(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case json.Number:
		var n any
		if err := yaml.Unmarshal([]byte(v), &n); err != nil {
			return nil, err
		}
		return n, nil
	case []any:
		for i, x := range v {
			y, err := yamlTree(x)
			if err != nil {
				return nil, err
			}
			v[i] = y
		}
		return v, nil
	case map[string]any:
		for k, x := range v {
			y, err := yamlTree(x)
			if err != nil {
				return nil, err
			}
			v[k] = y
		}
		// A map[any]any, as go-yaml's reader makes, or, where go-yaml's
		// key order would not be the same from run to run, the keys in
		// an order of their own (yamlorder.go).
		return orderedMap(v)
	}
	return nil, errNotJSONTree
}
