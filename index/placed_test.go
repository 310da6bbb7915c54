package index

import (
	"bytes"
	"testing"
)

// TestRenderPlaced checks that every entry's bytes sit exactly where the
// renderers say they put them, in both encodings, and that the placed
// output is the unplaced output: a server reusing fragments from a written
// index by offset gets each version's own bytes and nothing else.
func TestRenderPlaced(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		f := fixture(seed)
		entries, err := f.Fragments()
		if err != nil {
			t.Fatal(err)
		}
		wantY, wantJ := render(t, f, entries)
		for _, enc := range []struct {
			name   string
			render func(*bytes.Buffer, Placed) error
			bytes  func(Entry) []byte
			want   []byte
		}{
			{"yaml", func(b *bytes.Buffer, p Placed) error { return RenderYAMLPlaced(b, f.Header(), entries, p) }, func(e Entry) []byte { return e.YAML }, wantY},
			{"json", func(b *bytes.Buffer, p Placed) error { return RenderJSONPlaced(b, f.Header(), entries, p) }, func(e Entry) []byte { return e.JSON }, wantJ},
		} {
			at := make([]int64, len(entries))
			for i := range at {
				at[i] = -1
			}
			var b bytes.Buffer
			if err := enc.render(&b, func(i int, off int64) { at[i] = off }); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), enc.want) {
				t.Fatalf("%s: placed rendering differs from the plain one", enc.name)
			}
			for i, off := range at {
				e := enc.bytes(entries[i])
				if off < 0 {
					t.Fatalf("%s: entry %d (%s %s) never placed", enc.name, i, entries[i].Name, entries[i].Version)
				}
				if got := b.Bytes()[off : off+int64(len(e))]; !bytes.Equal(got, e) {
					t.Fatalf("%s: entry %d at %d holds %.60q, want %.60q", enc.name, i, off, got, e)
				}
			}
		}
	}
}
