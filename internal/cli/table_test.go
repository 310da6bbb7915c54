package cli

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gosuri/uitable"
)

// TestTableMatchesUitable: the fast renderer is byte-identical to uitable.
func TestTableMatchesUitable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"", "a", "nginx", "日本語のチャート", "ünïcode", "A chart with a rather long description that exceeds fifty columns for sure", "x\ty", "emoji 🎉 party", "with\nnewline", "\x1b[31mred\x1b[0m"}
	for i := range 300 {
		tb := &table{maxColWidth: uint(r.IntN(60))}
		ut := uitable.New()
		ut.MaxColWidth = tb.maxColWidth
		for range 1 + r.IntN(5) {
			row := []string{words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))]}
			tb.addRow(row...)
			ut.AddRow(row[0], row[1], row[2])
		}
		var got, want bytes.Buffer
		if err := tb.write(&got); err != nil {
			t.Fatal(err)
		}
		if err := writeTable(&want, ut); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("case %d (max %d):\ngot  %q\nwant %q", i, tb.maxColWidth, got.String(), want.String())
		}
	}
}
