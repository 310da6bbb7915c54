package cli

import (
	"strconv"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/helmpath"
)

func TestSourceDateEpoch(t *testing.T) {
	tests := []struct {
		in      string
		set     bool
		want    *time.Time
		wantErr bool
	}{
		{"", false, nil, false},
		{"", true, nil, false},
		{"0", true, ptr(time.Unix(0, 0).UTC()), false},
		{"1700000000", true, ptr(time.Unix(1700000000, 0).UTC()), false},
		{"-1", true, nil, true},
		{"1.5", true, nil, true},
		{"soon", true, nil, true},
	}
	for _, tt := range tests {
		m := map[string]string{}
		if tt.set {
			m["SOURCE_DATE_EPOCH"] = tt.in
		}
		got, err := sourceDateEpoch(helmpath.MapLookup(m))
		if (err != nil) != tt.wantErr || (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(*tt.want)) {
			t.Errorf("%q: got %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }

// FuzzSourceDateEpoch: any value is either refused or a non-negative
// whole second in UTC that round-trips.
func FuzzSourceDateEpoch(f *testing.F) {
	for _, s := range []string{"0", "1700000000", "-1", "", " 1", "9223372036854775807", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := sourceDateEpoch(helmpath.MapLookup(map[string]string{"SOURCE_DATE_EPOCH": s}))
		if err != nil || got == nil {
			return
		}
		if got.Unix() < 0 || got.Location() != time.UTC || strconv.FormatInt(got.Unix(), 10) != s && "+"+strconv.FormatInt(got.Unix(), 10) != s && !leadingZeros(s) {
			t.Errorf("%q gave %v", s, got)
		}
	})
}

func leadingZeros(s string) bool {
	for len(s) > 1 && (s[0] == '0' || s[0] == '+') {
		s = s[1:]
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
