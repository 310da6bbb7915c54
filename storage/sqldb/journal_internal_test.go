package sqldb

import "testing"

// A snapshot is due once enough entries follow the last one and they carry
// half as many records as it held, or once they reach the cap.
func TestCompactDue(t *testing.T) {
	for _, tc := range []struct {
		since, notes, last int
		want               bool
	}{
		{since: compactEvery - 1, notes: 1 << 20, last: 0, want: false},   // never before compactEvery
		{since: compactEvery, notes: compactEvery, last: 0, want: true},   // size unknown: as before
		{since: compactEvery, notes: 300, last: 20_000, want: false},      // a big store waits...
		{since: 2_000, notes: 10_000, last: 20_000, want: true},           // ...until it grew by half
		{since: compactAtMost, notes: 4_096, last: 1_000_000, want: true}, // the cap bounds recovery
		{since: compactAtMost - 1, notes: 4_095, last: 1_000_000, want: false},
	} {
		if got := compactDue(tc.since, tc.notes, tc.last); got != tc.want {
			t.Errorf("compactDue(%d entries, %d records, last %d) = %t, want %t", tc.since, tc.notes, tc.last, got, tc.want)
		}
	}
}
