package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chartd/chartd/storage"
)

// migrationSearchTerms is the version of createSearchTerms. It follows the
// Go migration 20: a database already at 20 would refuse a lower number as
// out of order.
const migrationSearchTerms = 21

// The search index: every chart version's searchable words, one row each,
// tagged with the field they come from ("n:" name, "k:" keyword,
// "d:" description, "a:" annotation). A query word matches a stored word it
// is a prefix of, which a range on the primary key answers, so a search
// costs what it finds, not what the database holds. Rows go with their
// version (the foreign key cascades) and are written with it (putTerms).
const (
	maxTermLen      = 64
	maxTermsVersion = 256
	// MaxSearchWords is the most words a query may have.
	MaxSearchWords = 8
)

// Search fields, the tags of the stored words.
const (
	FieldName        = "n"
	FieldKeyword     = "k"
	FieldDescription = "d"
	FieldAnnotation  = "a"
)

var searchFields = []string{FieldName, FieldKeyword, FieldDescription, FieldAnnotation}

// createSearchTerms creates the search index and fills it for the versions
// already stored. The DDL differs in one place: PostgreSQL compares text by
// the database's collation, under which a prefix range is not a byte range,
// so its column is COLLATE "C".
func (db *DB) createSearchTerms(ctx context.Context, tx *sql.Tx) error {
	coll, id := "", "INTEGER"
	if db.pg {
		coll, id = ` COLLATE "C"`, "BIGINT"
	}
	ddl := `CREATE TABLE chart_terms (
		term      TEXT` + coll + ` NOT NULL,
		tenant_id ` + id + ` NOT NULL,
		name      TEXT NOT NULL,
		version   TEXT NOT NULL,
		PRIMARY KEY (term, tenant_id, name, version),
		FOREIGN KEY (tenant_id, name, version) REFERENCES chart_versions (tenant_id, name, version) ON DELETE CASCADE
	)`
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("sqldb: create chart_terms: %w", err)
	}
	// The cascade looks rows up by version.
	if _, err := tx.ExecContext(ctx, `CREATE INDEX chart_terms_version ON chart_terms (tenant_id, name, version)`); err != nil {
		return fmt.Errorf("sqldb: index chart_terms: %w", err)
	}
	// A search without words lists charts by name, and stops at its limit.
	if _, err := tx.ExecContext(ctx, `CREATE INDEX chart_versions_name ON chart_versions (name, tenant_id)`); err != nil {
		return fmt.Errorf("sqldb: index chart_versions: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT tenant_id, name, version, metadata FROM chart_versions`)
	if err != nil {
		return fmt.Errorf("sqldb: search terms: %w", err)
	}
	type row struct {
		tid       int64
		name, ver string
		meta      []byte
	}
	var all []row
	for rows.Next() {
		var r row
		var meta string
		if err := rows.Scan(&r.tid, &r.name, &r.ver, &meta); err != nil {
			rows.Close()
			return fmt.Errorf("sqldb: search terms: %w", err)
		}
		r.meta = []byte(meta)
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqldb: search terms: %w", err)
	}
	for _, r := range all {
		for _, t := range searchTerms(r.name, r.meta) {
			if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO chart_terms (term, tenant_id, name, version) VALUES (?, ?, ?, ?)`),
				t, r.tid, r.name, r.ver); err != nil {
				return fmt.Errorf("sqldb: search terms: %w", err)
			}
		}
	}
	return nil
}

// putTerms (re)writes the search words of a version.
func putTerms(ctx context.Context, tx q, cv storage.ChartVersion) error {
	if _, err := tx.exec(ctx, `DELETE FROM chart_terms WHERE tenant_id = ? AND name = ? AND version = ?`, cv.TenantID, cv.Name, cv.Version); err != nil {
		return fmt.Errorf("sqldb: search terms: %w", err)
	}
	for _, t := range searchTerms(cv.Name, cv.Metadata) {
		if _, err := tx.exec(ctx, `INSERT INTO chart_terms (term, tenant_id, name, version) VALUES (?, ?, ?, ?)`,
			t, cv.TenantID, cv.Name, cv.Version); err != nil {
			return fmt.Errorf("sqldb: search terms: %w", err)
		}
	}
	return nil
}

// searchMeta is the part of Chart.yaml that is searched.
type searchMeta struct {
	Description string            `json:"description"`
	Keywords    []string          `json:"keywords"`
	Annotations map[string]string `json:"annotations"`
}

// searchTerms lists a version's tagged words, without duplicates: the
// name whole and in words, keywords likewise, the description's words,
// and each annotation as key=value and its value's words.
func searchTerms(name string, metadata []byte) []string {
	var m searchMeta
	_ = json.Unmarshal(metadata, &m) // validChart checked it; a bad one is only the name
	set := map[string]bool{}
	add := func(field, w string) {
		w = truncateTerm(strings.ToLower(w))
		if w != "" && len(set) < maxTermsVersion {
			set[field+":"+w] = true
		}
	}
	addWords := func(field, s string, whole bool) {
		if whole {
			add(field, s)
		}
		for _, w := range SearchWords(s) {
			add(field, w)
		}
	}
	addWords(FieldName, name, true)
	for _, k := range m.Keywords {
		addWords(FieldKeyword, k, true)
	}
	addWords(FieldDescription, m.Description, false)
	keys := make([]string, 0, len(m.Annotations))
	for k := range m.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(FieldAnnotation, k+"="+m.Annotations[k])
		addWords(FieldAnnotation, m.Annotations[k], false)
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// truncateTerm cuts a word to maxTermLen bytes, on a rune boundary (a
// PostgreSQL text value must be valid UTF-8).
func truncateTerm(w string) string {
	if len(w) <= maxTermLen {
		return w
	}
	w = w[:maxTermLen]
	for len(w) > 0 && !utf8.ValidString(w) {
		w = w[:len(w)-1]
	}
	return w
}

// SearchWords splits s into lower-case words of letters and digits.
func SearchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// SearchWord is one word of a query: Fields it may match (nil: all), and the
// prefix of a stored word it must be.
type SearchWord struct {
	Fields []string
	Prefix string
}

// SearchQuery asks for the charts that match every word.
type SearchQuery struct {
	Words []SearchWord
	// Tenants restricts the search to these tenant rows (repository paths);
	// nil: all of them, empty: none.
	Tenants []int64
	// Limit caps the number of charts (default 100).
	Limit int
}

// SearchHit is one version of a chart a search found, with its repository path.
type SearchHit struct {
	Path string
	storage.ChartVersion
}

// prefixEnd is the least string above every string with prefix p, in byte
// order (the order of both dialects' index, see createSearchTerms).
func prefixEnd(p string) string { return p + "\U0010FFFF" }

// SearchCharts returns the versions that match every word of the query,
// of at most Limit charts (the first by name, then tenant row), ordered by path,
// name, creation. A query with no words matches every version.
func (db *DB) SearchCharts(ctx context.Context, sq SearchQuery) ([]SearchHit, error) {
	if sq.Tenants != nil && len(sq.Tenants) == 0 {
		return nil, nil
	}
	if len(sq.Words) > MaxSearchWords {
		return nil, fmt.Errorf("sqldb: search: more than %d words", MaxSearchWords)
	}
	limit := sq.Limit
	if limit <= 0 {
		limit = 100
	}
	tenantIn, tenantArgs := tenantFilter(sq.Tenants)
	if len(sq.Words) == 0 {
		return db.listCharts(ctx, tenantIn, tenantArgs, limit)
	}
	matched, args := termMatches(sq.Words, tenantIn, tenantArgs)
	args = append(args, limit)
	query := `WITH found (tenant_id, name, version) AS (` + matched + `),
		top AS (SELECT DISTINCT f.tenant_id, f.name, t.path FROM found f JOIN tenants t ON t.id = f.tenant_id ORDER BY f.name, f.tenant_id LIMIT ?)
		SELECT top.path, ` + prefixed("c", chartColumns) + ` FROM top
		JOIN found f ON f.tenant_id = top.tenant_id AND f.name = top.name
		JOIN chart_versions c ON c.tenant_id = f.tenant_id AND c.name = f.name AND c.version = f.version
		ORDER BY top.path, c.name, c.created`
	return db.searchHits(ctx, query, args)
}

// listCharts is a search without words: the first charts by name, read in
// the order of the chart_versions_name index, so the scan stops at limit.
func (db *DB) listCharts(ctx context.Context, tenantIn string, tenantArgs []any, limit int) ([]SearchHit, error) {
	query := `WITH top AS (SELECT tenant_id, name FROM chart_versions WHERE 1 = 1` + tenantIn + `
			GROUP BY name, tenant_id ORDER BY name, tenant_id LIMIT ?)
		SELECT t.path, ` + prefixed("c", chartColumns) + ` FROM top
		JOIN tenants t ON t.id = top.tenant_id
		JOIN chart_versions c ON c.tenant_id = top.tenant_id AND c.name = top.name
		ORDER BY t.path, c.name, c.created`
	return db.searchHits(ctx, query, append(tenantArgs, limit))
}

func (db *DB) searchHits(ctx context.Context, query string, args []any) ([]SearchHit, error) {
	rows, err := db.read().queryText(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: search: %w", err)
	}
	defer rows.Close()
	var hits []SearchHit
	for rows.Next() {
		var h SearchHit
		var path string
		cv, err := scanChart(scanPrefix{rows.Rows, &path})
		if err != nil {
			return nil, fmt.Errorf("sqldb: search: %w", err)
		}
		h.Path, h.ChartVersion = path, cv
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: search: %w", err)
	}
	return hits, nil
}

// scanPrefix scans one leading column before the chart's.
type scanPrefix struct {
	rows  *sql.Rows
	first *string
}

func (s scanPrefix) Scan(dest ...any) error { return s.rows.Scan(append([]any{s.first}, dest...)...) }

// Tenants lists every tenant row (a tenant or a repository path below one),
// by path.
func (db *DB) Tenants(ctx context.Context) ([]storage.Tenant, error) {
	rows, err := db.read().query(ctx, `SELECT id, path, generation FROM tenants ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("sqldb: tenants: %w", err)
	}
	defer rows.Close()
	var out []storage.Tenant
	for rows.Next() {
		var t storage.Tenant
		if err := rows.Scan(&t.ID, &t.Path, &t.Generation); err != nil {
			return nil, fmt.Errorf("sqldb: tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// termMatches is the query of the versions (tenant_id, name, version) that
// match every word, each word a prefix of a term in one of its fields, in
// the tenants tenantIn admits; with its arguments.
func termMatches(words []SearchWord, tenantIn string, tenantArgs []any) (string, []any) {
	var parts []string
	var args []any
	for _, w := range words {
		fields := w.Fields
		if len(fields) == 0 {
			fields = searchFields
		}
		var ors []string
		for _, f := range fields {
			p := f + ":" + truncateTerm(strings.ToLower(w.Prefix))
			ors = append(ors, `(term >= ? AND term < ?)`)
			args = append(args, p, prefixEnd(p))
		}
		parts = append(parts, `SELECT DISTINCT tenant_id, name, version FROM chart_terms WHERE (`+strings.Join(ors, " OR ")+`)`+tenantIn)
		args = append(args, tenantArgs...)
	}
	return strings.Join(parts, " INTERSECT "), args
}

// tenantFilter is the condition keeping the given tenant rows (nil: all),
// with its arguments. The unary plus keeps it off the planner's list of
// index choices: without statistics SQLite would scan a tenant's every
// word by tenant_id rather than range over the query's.
func tenantFilter(ids []int64) (string, []any) {
	if ids == nil {
		return "", nil
	}
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	return ` AND +tenant_id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `)`, args
}
