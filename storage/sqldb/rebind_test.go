package sqldb

import (
	"strconv"
	"strings"
	"testing"
)

func FuzzRebind(f *testing.F) {
	for _, s := range []string{"", "SELECT 1", "a = ? AND b = ?", "??", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"} {
		f.Add(s)
	}
	pg, lite := &DB{pg: true}, &DB{}
	f.Fuzz(func(t *testing.T, q string) {
		if got := lite.rebind(q); got != q {
			t.Fatalf("SQLite rebind changed %q to %q", q, got)
		}
		if digitAfterPlaceholder(q) {
			return // outside rebind's contract: "?0" would read as "$10"
		}
		got := pg.rebind(q)
		// Undo: every $n, in order 1, 2, ..., becomes '?' again.
		var b strings.Builder
		n := 0
		for i := 0; i < len(got); {
			want := "$" + strconv.Itoa(n+1)
			if strings.HasPrefix(got[i:], want) && (i+len(want) == len(got) || got[i+len(want)] < '0' || got[i+len(want)] > '9') && n < strings.Count(q, "?") {
				b.WriteByte('?')
				i += len(want)
				n++
				continue
			}
			b.WriteByte(got[i])
			i++
		}
		if n != strings.Count(q, "?") {
			t.Fatalf("rebind(%q) = %q: %d placeholders, want %d", q, got, n, strings.Count(q, "?"))
		}
		if b.String() != q {
			t.Fatalf("rebind(%q) = %q, which does not map back", q, got)
		}
	})
}

func digitAfterPlaceholder(q string) bool {
	for i := 0; i+1 < len(q); i++ {
		if q[i] == '?' && q[i+1] >= '0' && q[i+1] <= '9' {
			return true
		}
	}
	return false
}
