package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

func TestSearchCharts(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, b := e.tenant(t, "a"), e.tenant(t, "b")
		put := func(tid int64, name, version, extra string) {
			cv := e.chart(t, tid, name, version, extra)
			cv.Metadata = fmt.Appendf(nil, `{"apiVersion":"v2","name":%q,"version":%q%s}`, name, version, extra)
			if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		put(a.ID, "postgres-ha", "1.0.0", `,"description":"A replicated Database","keywords":["sql","db"]`)
		put(a.ID, "postgres-ha", "1.1.0", `,"annotations":{"category":"Storage"}`)
		put(a.ID, "nginx", "2.0.0", `,"description":"web server"`)
		put(b.ID, "redis", "3.0.0", `,"keywords":["cache"]`)
		long := "a" + strings.Repeat("ü", 40) // 81 bytes: the stored word is cut inside no rune
		put(b.ID, "umlaut", "1.0.0", `,"keywords":["`+long+`"]`)
		found := func(sq sqldb.SearchQuery) []string {
			hits, err := e.db.SearchCharts(ctx, sq)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, h := range hits {
				out = append(out, h.Path+"/"+h.Name+"-"+h.Version)
			}
			return out
		}
		w := func(fields []string, p string) sqldb.SearchWord { return sqldb.SearchWord{Fields: fields, Prefix: p} }
		for _, tc := range []struct {
			name string
			q    sqldb.SearchQuery
			want []string
		}{
			{"name prefix", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "postg")}}, []string{"a/postgres-ha-1.0.0", "a/postgres-ha-1.1.0"}},
			{"name word", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "ha")}}, []string{"a/postgres-ha-1.0.0", "a/postgres-ha-1.1.0"}},
			{"description", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "database")}}, []string{"a/postgres-ha-1.0.0"}},
			{"keyword field", sqldb.SearchQuery{Words: []sqldb.SearchWord{w([]string{sqldb.FieldKeyword}, "cache")}}, []string{"b/redis-3.0.0"}},
			{"keyword not description", sqldb.SearchQuery{Words: []sqldb.SearchWord{w([]string{sqldb.FieldKeyword}, "web")}}, nil},
			{"annotation", sqldb.SearchQuery{Words: []sqldb.SearchWord{w([]string{sqldb.FieldAnnotation}, "category=storage")}}, []string{"a/postgres-ha-1.1.0"}},
			{"words of one version", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "database"), w(nil, "storage")}}, nil},
			{"every word", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "web"), w(nil, "nginx")}}, []string{"a/nginx-2.0.0"}},
			{"no chart has both", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "web"), w(nil, "redis")}}, nil},
			{"tenant filter", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "redis")}, Tenants: []int64{a.ID}}, nil},
			{"no tenants", sqldb.SearchQuery{Tenants: []int64{}}, nil},
			{"all", sqldb.SearchQuery{Tenants: []int64{b.ID}}, []string{"b/redis-3.0.0", "b/umlaut-1.0.0"}},
			{"limit", sqldb.SearchQuery{Limit: 1}, []string{"a/nginx-2.0.0"}},
			{"long word", sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, long+"x")}}, []string{"b/umlaut-1.0.0"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, found(tc.q)); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
			})
		}
		// A deleted version leaves the index with it.
		if err := e.db.DeleteChartVersion(ctx, b.ID, "redis", "3.0.0"); err != nil {
			t.Fatal(err)
		}
		if got := found(sqldb.SearchQuery{Words: []sqldb.SearchWord{w(nil, "cache")}}); got != nil {
			t.Errorf("deleted version still found: %v", got)
		}
		ts, err := e.db.Tenants(ctx)
		if err != nil || len(ts) != 2 || ts[0].Path != "a" {
			t.Errorf("Tenants = %v, %v", ts, err)
		}
	})
}
