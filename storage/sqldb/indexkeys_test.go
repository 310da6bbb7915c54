package sqldb_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/storage"
)

// ChartVersionKeys lists exactly the tenant's versions, with the fields of
// their rows, and nothing of other tenants.
func TestChartVersionKeys(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, b := e.tenant(t, "a"), e.tenant(t, "b")
		for _, v := range []string{"1.0.0", "1.1.0", "2.0.0-rc.1"} {
			if err := e.put(ctx, e.chart(t, a.ID, "app", v, "x"), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.put(ctx, e.chart(t, b.ID, "other", "1.0.0", "y"), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.DeleteChartVersion(ctx, a.ID, "app", "1.1.0"); err != nil {
			t.Fatal(err)
		}
		rows, err := e.db.ChartVersions(ctx, a.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		var want []storage.VersionKey
		for _, r := range rows {
			want = append(want, storage.VersionKey{Name: r.Name, Version: r.Version, Digest: r.Digest, Created: r.Created})
		}
		got, err := e.db.ChartVersionKeys(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		byVersion := func(x, y storage.VersionKey) int { return strings.Compare(x.Version, y.Version) }
		slices.SortFunc(want, byVersion)
		slices.SortFunc(got, byVersion)
		if len(want) != 2 {
			t.Fatalf("ChartVersions lists %d versions, want 2", len(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
}
