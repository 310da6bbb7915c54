package values

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// readDocuments parses a user's values file that may hold several YAML
// documents, merged in order (later documents win, tables merged), as
// Helm 4 reads -f files. One document reads as Helm 3 reads it, errors
// included.
func readDocuments(data []byte) (map[string]interface{}, error) {
	// A final line without a newline can be lost by the line reader when
	// it ends exactly on a buffer boundary (helm/helm#32506).
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(append([]byte{}, data...), '\n')
	}
	out := map[string]interface{}{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("error reading yaml document: %w", err)
		}
		cur := map[string]interface{}{}
		// Helm 3's error text (Helm 4 prefixes "cannot unmarshal yaml
		// document: "), which scripts match.
		if err := yaml.Unmarshal(doc, &cur); err != nil {
			return nil, err
		}
		out = mergeMaps(out, cur)
	}
}

// isJSONObject reports whether a --set-json argument is a whole JSON
// object (Helm 4) rather than key=value.
func isJSONObject(s string) bool {
	t := bytes.TrimSpace([]byte(s))
	return len(t) > 0 && t[0] == '{'
}
