package sqldb

import (
	"context"
	"fmt"
	"time"
)

// Browsing reads pages, never a whole tenant: the web UI's first page must
// cost the same at 100 versions as at 10,000. Each query here reads the
// primary key (tenant_id, name, version) or the name index, which hold no
// Chart.yaml, and full rows are then fetched for the page alone.

// BrowseQuery asks for one page of charts, in name order.
type BrowseQuery struct {
	// Words, when any, must all match (as in SearchQuery).
	Words []SearchWord
	// Tenants restricts the page to these tenant rows; nil: all, empty: none.
	Tenants []int64
	Limit   int
	Offset  int
}

// ChartSummary is one chart of a page: where it is and how many versions
// it has (counted on the primary key). Which one to show is the caller's
// pick by semver, which SQL cannot make (see VersionNames).
type ChartSummary struct {
	TenantID int64
	Path     string
	Name     string
	Versions int
}

// BrowseCharts returns a page of charts (by name, then tenant row) and
// whether more follow.
func (db *DB) BrowseCharts(ctx context.Context, bq BrowseQuery) ([]ChartSummary, bool, error) {
	if bq.Tenants != nil && len(bq.Tenants) == 0 {
		return nil, false, nil
	}
	if len(bq.Words) > MaxSearchWords {
		return nil, false, fmt.Errorf("sqldb: browse: more than %d words", MaxSearchWords)
	}
	limit := bq.Limit
	if limit <= 0 {
		limit = 100
	}
	tenantIn, tenantArgs := tenantFilter(bq.Tenants)
	var top string
	var args []any
	if len(bq.Words) == 0 {
		// Straight off the chart_versions_name index, which the scan reads
		// in order and leaves at the page's end.
		top = `top AS (SELECT tenant_id, name FROM chart_versions WHERE 1 = 1` + tenantIn + `
			GROUP BY name, tenant_id ORDER BY name, tenant_id LIMIT ? OFFSET ?)`
		args = append(args, tenantArgs...)
	} else {
		matched, margs := termMatches(bq.Words, tenantIn, tenantArgs)
		args = append(args, margs...)
		top = `found (tenant_id, name, version) AS (` + matched + `),
			top AS (SELECT tenant_id, name FROM found GROUP BY name, tenant_id ORDER BY name, tenant_id LIMIT ? OFFSET ?)`
	}
	// One row more than asked tells whether another page follows.
	args = append(args, limit+1, bq.Offset)
	query := `WITH ` + top + `
		SELECT t.id, t.path, top.name,
			(SELECT COUNT(*) FROM chart_versions c WHERE c.tenant_id = top.tenant_id AND c.name = top.name)
		FROM top JOIN tenants t ON t.id = top.tenant_id
		ORDER BY top.name, top.tenant_id`
	rows, err := db.read().queryText(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqldb: browse: %w", err)
	}
	defer rows.Close()
	var out []ChartSummary
	for rows.Next() {
		var c ChartSummary
		if err := rows.Scan(&c.TenantID, &c.Path, &c.Name, &c.Versions); err != nil {
			return nil, false, fmt.Errorf("sqldb: browse: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqldb: browse: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// VersionNames lists the versions of one chart, without their rows.
func (db *DB) VersionNames(ctx context.Context, tenantID int64, name string) ([]string, error) {
	rows, err := db.read().query(ctx, `SELECT version FROM chart_versions WHERE tenant_id = ? AND name = ?`, tenantID, name)
	if err != nil {
		return nil, fmt.Errorf("sqldb: version names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqldb: version names: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: version names: %w", err)
	}
	return out, nil
}

// RepoStats sums one repository path's chart versions.
type RepoStats struct {
	Charts   int
	Versions int
	// Logical is the bytes its versions stand for: archives and
	// provenance files, counted once per version, shared or not.
	Logical int64
}

// Push is one version in a repository's recent pushes.
type Push struct {
	Name, Version string
	Created       time.Time
}

// RepoStats sums a tenant row's versions.
func (db *DB) RepoStats(ctx context.Context, tenantID int64) (RepoStats, error) {
	var st RepoStats
	err := db.read().row(ctx, `SELECT COUNT(DISTINCT name), COUNT(*), COALESCE(SUM(size + prov_size), 0)
		FROM chart_versions WHERE tenant_id = ?`, tenantID).Scan(&st.Charts, &st.Versions, &st.Logical)
	if err != nil {
		return RepoStats{}, fmt.Errorf("sqldb: repository stats: %w", err)
	}
	return st, nil
}

// RecentPushes lists a tenant row's newest versions by creation, newest first.
func (db *DB) RecentPushes(ctx context.Context, tenantID int64, limit int) ([]Push, error) {
	rows, err := db.read().query(ctx, `SELECT name, version, created FROM chart_versions WHERE tenant_id = ?
		ORDER BY created DESC, name, version LIMIT ?`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqldb: recent pushes: %w", err)
	}
	defer rows.Close()
	out := []Push{}
	for rows.Next() {
		var p Push
		var created int64
		if err := rows.Scan(&p.Name, &p.Version, &created); err != nil {
			return nil, fmt.Errorf("sqldb: recent pushes: %w", err)
		}
		p.Created = fromNanos(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: recent pushes: %w", err)
	}
	return out, nil
}
