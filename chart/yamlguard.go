package chart

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// unmarshalYAML is sigs.k8s.io/yaml's Unmarshal (Helm's parser) behind a
// guard against alias bombs: sigs.k8s.io/yaml expands every alias while
// converting YAML to JSON, so a 75 KB Chart.yaml whose keywords alias one
// long string 5000 times costs gigabytes and seconds. The guard measures
// the document as it would be expanded, in time linear in its size, and
// refuses it, as an error of class tooLarge, when that exceeds max. Callers
// add the file's name.
func unmarshalYAML(data []byte, out any, max int64, tooLarge error) error {
	if err := checkExpansion(data, max, tooLarge); err != nil {
		return err
	}
	return sigsyaml.Unmarshal(data, out)
}

// checkExpansion refuses YAML whose expanded form (scalar bytes plus one per
// node) exceeds max.
func checkExpansion(data []byte, max int64, tooLarge error) error {
	// An alias needs its '*' indicator in the text; without one the
	// expanded size is the text's size, and the costly node parse is
	// skipped.
	if bytes.IndexByte(data, '*') < 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The guard's parser is not Helm's: text it cannot read may still
		// hold aliases Helm's parser would expand, so it is refused, with
		// the words Helm uses for YAML it cannot read.
		return wrapf(ErrInvalidChart, err, "error converting YAML to JSON")
	}
	m := expansion{max: max, sizes: make(map[*yaml.Node]int64)}
	switch n := m.size(&doc); {
	case n < 0:
		return errorf(ErrInvalidChart, "a YAML alias refers to the node that contains it")
	case n > max:
		return errorf(tooLarge, "its YAML aliases expand it to more than %d bytes", max)
	}
	return nil
}

// expansion computes expanded sizes, each anchored node once: only anchored
// nodes can be aliased, so only they are remembered.
type expansion struct {
	max   int64
	sizes map[*yaml.Node]int64 // -1 while the node is being measured
}

// size returns n's expanded size, saturated just past max, or -1 for an
// alias cycle.
func (e *expansion) size(n *yaml.Node) int64 {
	if s, ok := e.sizes[n]; ok {
		return s
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 1
		}
		return e.size(n.Alias)
	}
	anchored := n.Anchor != ""
	if anchored {
		e.sizes[n] = -1
	}
	total := 1 + int64(len(n.Value))
	for _, c := range n.Content {
		s := e.size(c)
		if s < 0 {
			return -1
		}
		total += s
		if total > e.max {
			total = e.max + 1
			break
		}
	}
	if anchored {
		e.sizes[n] = total
	}
	return total
}
