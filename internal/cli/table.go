package cli

import (
	"io"
	"strings"

	"github.com/gosuri/uitable"
	"github.com/mattn/go-runewidth"
)

// table renders rows exactly as Helm's uitable does. uitable strips ANSI
// colour codes with a regular expression and builds a colour printer for
// every cell, which dominates `search repo -l` on big repositories; for the
// common case of single-line, colourless cells the same layout is computed
// directly. Anything else goes through uitable itself.
type table struct {
	maxColWidth uint
	rows        [][]string
}

func (t *table) addRow(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) simple() bool {
	for _, r := range t.rows {
		for _, c := range r {
			if strings.ContainsAny(c, "\n\x1b") {
				return false
			}
		}
	}
	return true
}

// write prints the table followed by a newline, as Helm's EncodeTable does.
func (t *table) write(out io.Writer) error {
	if !t.simple() {
		ut := uitable.New()
		ut.MaxColWidth = t.maxColWidth
		for _, r := range t.rows {
			cells := make([]interface{}, len(r))
			for i, c := range r {
				cells[i] = c
			}
			ut.AddRow(cells...)
		}
		return writeTable(out, ut)
	}
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			w := runewidth.StringWidth(c)
			if t.maxColWidth != 0 && w > int(t.maxColWidth) {
				w = int(t.maxColWidth)
			}
			if w > widths[i] {
				widths[i] = w
			}
		}
	}
	var b strings.Builder
	for ri, r := range t.rows {
		if ri > 0 {
			b.WriteByte('\n')
		}
		for i, c := range r {
			if i > 0 {
				b.WriteByte('\t')
			}
			resize(&b, c, widths[i])
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(out, b.String())
	return err
}

// resize is uitable's strutil.Resize for left-aligned cells: pad to n
// columns, or cut so that the text and "..." fit.
func resize(b *strings.Builder, s string, n int) {
	if n == 0 {
		b.WriteString(s)
		return
	}
	w := runewidth.StringWidth(s)
	switch {
	case w == n:
		b.WriteString(s)
	case w < n:
		b.WriteString(s)
		b.WriteString(strings.Repeat(" ", n-w))
	default:
		acc := 0
		for _, r := range s {
			b.WriteRune(r)
			rw := runewidth.RuneWidth(r)
			if acc+rw >= n-3 {
				break
			}
			acc += rw
		}
		b.WriteString("...")
	}
}
