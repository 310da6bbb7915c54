package sqldb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

func TestBrowse(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, b := e.tenant(t, "a"), e.tenant(t, "b")
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		n := 0
		put := func(tid int64, name, version, extra string) {
			cv := e.chart(t, tid, name, version, "")
			cv.Metadata = fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q%s}`, name, version, extra)
			cv.Created = base.Add(time.Duration(n) * time.Minute)
			n++
			if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		put(a.ID, "web", "1.0.0", `,"description":"web server"`)
		put(a.ID, "web", "1.1.0", `,"description":"web server"`)
		put(a.ID, "app", "0.1.0", "")
		put(b.ID, "app", "2.0.0", "")
		put(b.ID, "cache", "1.0.0", `,"keywords":["redis"]`)
		type row struct {
			Path, Name string
			Versions   int
		}
		browse := func(bq sqldb.BrowseQuery) ([]row, bool) {
			t.Helper()
			got, more, err := e.db.BrowseCharts(ctx, bq)
			if err != nil {
				t.Fatal(err)
			}
			var out []row
			for _, c := range got {
				out = append(out, row{c.Path, c.Name, c.Versions})
			}
			return out, more
		}
		word := func(p string) []sqldb.SearchWord { return []sqldb.SearchWord{{Prefix: p}} }
		for _, tc := range []struct {
			name string
			q    sqldb.BrowseQuery
			want []row
			more bool
		}{
			{"all", sqldb.BrowseQuery{}, []row{{"a", "app", 1}, {"b", "app", 1}, {"b", "cache", 1}, {"a", "web", 2}}, false},
			{"first page", sqldb.BrowseQuery{Limit: 2}, []row{{"a", "app", 1}, {"b", "app", 1}}, true},
			{"second page", sqldb.BrowseQuery{Limit: 2, Offset: 2}, []row{{"b", "cache", 1}, {"a", "web", 2}}, false},
			{"one tenant", sqldb.BrowseQuery{Tenants: []int64{a.ID}}, []row{{"a", "app", 1}, {"a", "web", 2}}, false},
			{"no tenants", sqldb.BrowseQuery{Tenants: []int64{}}, nil, false},
			{"words", sqldb.BrowseQuery{Words: word("serv")}, []row{{"a", "web", 2}}, false},
			{"words and tenants", sqldb.BrowseQuery{Words: word("redis"), Tenants: []int64{a.ID}}, nil, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, more := browse(tc.q)
				if diff := cmp.Diff(tc.want, got); diff != "" || more != tc.more {
					t.Errorf("more %v, want %v; (-want +got)\n%s", more, tc.more, diff)
				}
			})
		}
		names, err := e.db.VersionNames(ctx, a.ID, "web")
		if err != nil || !cmp.Equal(names, []string{"1.0.0", "1.1.0"}) {
			t.Errorf("VersionNames = %v, %v", names, err)
		}
		st, err := e.db.RepoStats(ctx, a.ID)
		if err != nil || st.Charts != 2 || st.Versions != 3 || st.Logical <= 0 {
			t.Errorf("RepoStats = %+v, %v", st, err)
		}
		pushes, err := e.db.RecentPushes(ctx, a.ID, 2)
		want := []sqldb.Push{{Name: "app", Version: "0.1.0", Created: base.Add(2 * time.Minute)}, {Name: "web", Version: "1.1.0", Created: base.Add(time.Minute)}}
		if diff := cmp.Diff(want, pushes); err != nil || diff != "" {
			t.Errorf("RecentPushes: %v (-want +got)\n%s", err, diff)
		}
	})
}
