package index

import (
	"bytes"
)

// NewEntries renders each of cvs as NewEntry does, with the same bytes and
// the same errors (errs[i] is cv[i]'s), at a fraction of the cost when there
// are many: their YAML comes from one document listing them all, not one
// document each. go-yaml sets up a new emitter per document and reads the
// JSON it converts in full each time; per version, that setting-up was
// most of what a cold start allocated.
//
// A version renders the same as any item of a list in the same place, as
// the incremental rendering already relies on; the document is cut back
// into items at its lines that start a list item at the versions' depth
// ("  - "), since everything inside a version is indented deeper. Should
// the cut not give one item per version, or the document fail to render,
// every version is rendered alone, as NewEntry does.
func NewEntries(cvs []*ChartVersion) (entries []Entry, errs []error) {
	entries, errs = make([]Entry, len(cvs)), make([]error, len(cvs))
	var ok []int
	batch := make([]*ChartVersion, 0, len(cvs))
	for i, cv := range cvs {
		if errs[i] = checkRenderable(cv); errs[i] == nil {
			ok = append(ok, i)
			batch = append(batch, cv)
		}
	}
	items := batchYAML(batch)
	for n, i := range ok {
		if items == nil {
			entries[i], errs[i] = NewEntry(cvs[i])
			continue
		}
		entries[i], errs[i] = newEntry(cvs[i], items[n])
	}
	return entries, errs
}

// batchYAML renders the YAML of each of cvs from one document, or returns
// nil when that does not give one item per version.
func batchYAML(cvs []*ChartVersion) [][]byte {
	if len(cvs) < 2 {
		return nil
	}
	b, err := marshalYAML(map[string]map[string][]*ChartVersion{"entries": {entryProbe: cvs}})
	if err != nil {
		return nil
	}
	b, ok := bytes.CutPrefix(b, []byte(entryProbeHead))
	if !ok {
		return nil
	}
	items := make([][]byte, 0, len(cvs))
	const item = "  - "
	for len(b) > 0 {
		if !bytes.HasPrefix(b, []byte(item)) {
			return nil
		}
		end := bytes.Index(b, []byte("\n"+item))
		if end < 0 {
			end = len(b)
		} else {
			end++ // keep the item's last newline
		}
		items = append(items, b[:end])
		b = b[end:]
	}
	if len(items) != len(cvs) {
		return nil
	}
	return items
}
