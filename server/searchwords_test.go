package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/storage/sqldb"
)

func TestParseSearchWords(t *testing.T) {
	all := func(p string) sqldb.SearchWord { return sqldb.SearchWord{Prefix: p} }
	in := func(f, p string) sqldb.SearchWord { return sqldb.SearchWord{Fields: []string{f}, Prefix: p} }
	for _, tt := range []struct {
		q    string
		want []sqldb.SearchWord
	}{
		{"", nil},
		{"Postgres", []sqldb.SearchWord{all("postgres")}},
		{"my-chart db", []sqldb.SearchWord{all("my"), all("chart"), all("db")}},
		{"name:web keyword:SQL", []sqldb.SearchWord{in(sqldb.FieldName, "web"), in(sqldb.FieldKeyword, "sql")}},
		{"description:fast-cache", []sqldb.SearchWord{in(sqldb.FieldDescription, "fast"), in(sqldb.FieldDescription, "cache")}},
		{"annotation:Category=Storage", []sqldb.SearchWord{in(sqldb.FieldAnnotation, "category=storage")}},
		{"annotation:storage", []sqldb.SearchWord{in(sqldb.FieldAnnotation, "storage")}},
		{"other:thing", []sqldb.SearchWord{all("other"), all("thing")}}, // not a field: plain words
	} {
		got, err := parseSearchWords(tt.q)
		if err != nil {
			t.Errorf("%q: %v", tt.q, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got)\n%s", tt.q, diff)
		}
	}
	if _, err := parseSearchWords(strings.Repeat("w ", sqldb.MaxSearchWords+1)); err == nil {
		t.Errorf("%d words accepted", sqldb.MaxSearchWords+1)
	}
}

func FuzzParseSearchWords(f *testing.F) {
	for _, s := range []string{"", "postgres", "name:web keyword:sql", "annotation:a=b", "a:b:c", "ÄÖ ü", "x\x00y", "::=", strings.Repeat("a ", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		words, err := parseSearchWords(q)
		if err != nil {
			return
		}
		if len(words) > sqldb.MaxSearchWords {
			t.Fatalf("%d words", len(words))
		}
		for _, w := range words {
			if w.Prefix == "" || w.Prefix != strings.ToLower(w.Prefix) {
				t.Fatalf("word %q of %q", w.Prefix, q)
			}
		}
	})
}
