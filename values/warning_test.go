package values

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCoalescerWarnings: each conflict coalescing resolves by dropping a
// value is reported once, with Helm's key path (chart names included) and
// words, in a stable order.
func TestCoalescerWarnings(t *testing.T) {
	tests := []struct {
		name   string
		chart  func() (parentVals, subVals m)
		user   m
		tables bool // CoalesceTables(user, parentVals) instead of CoalesceValues
		want   []string
	}{
		{
			name:  "user table over a default scalar",
			chart: func() (m, m) { return m{"a": "x"}, nil },
			user:  m{"a": m{"b": 1}},
			want:  []string{"warning: skipped value for p.a: Not a table."},
		},
		{
			name:  "user scalar over a default table, deeper",
			chart: func() (m, m) { return m{"t": m{"u": m{"v": 1}, "w": 2}}, nil },
			user:  m{"t": m{"u": "flat", "w": m{"x": 1}}},
			want: []string{
				"warning: cannot overwrite table with non table for p.t.u (map[v:1])",
				"warning: destination for p.t.w is a table. Ignoring non-table value (2)",
			},
		},
		{
			name:  "null defaults and null user values are no conflict",
			chart: func() (m, m) { return m{"a": nil, "t": m{"u": 1}}, nil },
			user:  m{"a": m{"b": 1}, "t": nil},
		},
		{
			name:  "subchart values, named by the subchart",
			chart: func() (m, m) { return m{"sub": m{"cfg": "s"}}, m{"cfg": m{"level": "info"}, "extra": "plain"} },
			user:  m{"sub": m{"extra": m{"a": 1}}},
			// A scalar over a subchart's default table is no warning in
			// Helm's coalesceValues; only the reverse is.
			want: []string{"warning: skipped value for p.sub.extra: Not a table."},
		},
		{
			name:  "globals: a parent table over a subchart scalar",
			chart: func() (m, m) { return m{"global": m{"img": m{"reg": "x"}}}, nil },
			user:  m{"sub": m{"global": m{"img": "flat"}}},
			want:  []string{`Conflict: cannot merge map onto non-map for "img". Skipping.`},
		},
		{
			name:  "globals that are not tables",
			chart: func() (m, m) { return m{"global": "flat"}, nil },
			user:  m{},
			want:  []string{"warning: skipping globals because source global is not a table."},
		},
		{
			name:   "tables without chart names",
			chart:  func() (m, m) { return m{"a": m{"b": 1}}, nil },
			user:   m{"a": "flat"},
			tables: true,
			want:   []string{"warning: cannot overwrite table with non table for a (map[b:1])"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv, sv := tt.chart()
			c := newChart("p", pv, newChart("sub", sv))
			var got []string
			co := Coalescer{Warn: func(w Warning) { got = append(got, w.String()) }}
			if tt.tables {
				co.CoalesceTables(Copy(tt.user), Copy(pv))
			} else if _, err := co.CoalesceValues(c, tt.user); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// The package functions coalesce alike, silently.
			if !tt.tables {
				a, _ := co.CoalesceValues(c, tt.user)
				b, _ := CoalesceValues(c, tt.user)
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("Coalescer and CoalesceValues differ (-coalescer +package):\n%s", diff)
				}
			}
		})
	}
}
