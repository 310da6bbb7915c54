package e2e

import (
	"context"
	"database/sql"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/loadtest"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// migrationsDir holds the PostgreSQL migrations written as SQL; the
// newest numbered file is the migration an upgrade runs.
const migrationsDir = "storage/sqldb/migrations/postgres"

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newestMigration is the highest-numbered migration file in the tree, and
// its number.
func newestMigration(t *testing.T, root string) (string, int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, migrationsDir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations under %s: %v", migrationsDir, err)
	}
	num := func(f string) int { n, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0]); return n }
	sort.Slice(files, func(i, j int) bool { return num(files[i]) < num(files[j]) })
	f := files[len(files)-1]
	return filepath.ToSlash(filepath.Join(migrationsDir, filepath.Base(f))), num(f)
}

// buildPrevious builds chartd as it was just before the newest migration
// was added (version N), from the repository's own history in a git
// worktree, so a clean clone can run the test.
func buildPrevious(t *testing.T, root, migration string) string {
	t.Helper()
	commit := "HEAD" // the migration is not committed yet: HEAD lacks it
	if added := git(t, root, "log", "-1", "--diff-filter=A", "--format=%H", "--", migration); added != "" {
		commit = added + "^"
	}
	commit = git(t, root, "rev-parse", "--verify", commit+"^{commit}")
	if err := exec.Command("git", "-C", root, "cat-file", "-e", commit+":"+migration).Run(); err == nil {
		t.Fatalf("commit %s already has %s: it is no version before the migration", commit, migration)
	}
	dir := filepath.Join(t.TempDir(), "src")
	git(t, root, "worktree", "add", "--detach", dir, commit)
	t.Cleanup(func() {
		if out, err := exec.Command("git", "-C", root, "worktree", "remove", "--force", dir).CombinedOutput(); err != nil {
			t.Errorf("git worktree remove: %v\n%s", err, out)
		}
	})
	bin, err := procs.Build(dir, "./cmd/chartd", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("version N: chartd at %s", commit[:12])
	return bin
}

// TestRollingUpgradeMigratesUnderTheAdvisoryLock is a rolling upgrade:
// two replicas of version N (chartd built from the commit before the
// newest migration) serve a mixed load while the first replica of N+1 (this
// tree) runs that migration under goose's advisory lock. The migration is
// held mid-way by a lock the test takes on its table; the first N+1 is
// killed (-9) there, a second one takes the migration over. Version N must
// answer every request meanwhile (the load counts any error), and
// afterwards both versions read every write, and a restarted N still starts
// on the migrated database.
func TestRollingUpgradeMigratesUnderTheAdvisoryLock(t *testing.T) {
	root := git(t, ".", "rev-parse", "--show-toplevel")
	migration, version := newestMigration(t, root)
	binN := buildPrevious(t, root, migration)
	c := newReplicated(t, pgtest.DSN(t))
	opts := func() procs.ChartdOptions { return procs.ChartdOptions{Env: c.s3.Env(), DataDir: t.TempDir()} }
	args := []string{"--database-url=" + c.dsn, "--storage-url=" + c.s3.URL(c.bucket), "--depth=1"}
	n1, n2 := procs.StartChartdWith(t, binN, opts(), args...), procs.StartChartdWith(t, binN, opts(), args...)
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	applied := func() int {
		var v int
		if err := db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := applied(); v >= version {
		t.Fatalf("version N left the database at migration %d, not below %d", v, version)
	}
	upload(t, n1.URL+"/api/t/charts", charttest.Chart("before", "1.0.0", nil))

	// Hold the migration: CREATE INDEX CONCURRENTLY waits for this lock,
	// which ordinary reads and writes of version N do not conflict with.
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(ctx, `LOCK TABLE repo_blobs IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	waiting := func(n int) func() bool {
		return func() bool {
			var k int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE query ILIKE '%INDEX CONCURRENTLY%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&k)
			if err != nil {
				t.Log(err)
			}
			return err == nil && k >= n
		}
	}
	defer func() {
		if !t.Failed() {
			return
		}
		// What the server was doing, for the failure.
		rows, err := db.QueryContext(ctx, `SELECT coalesce(wait_event_type, ''), coalesce(wait_event, ''), coalesce(state, ''), query
			FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			t.Log(err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var et, ev, st, q string
			_ = rows.Scan(&et, &ev, &st, &q)
			t.Logf("pg_stat_activity: %s %s %s %.120q", et, ev, st, q)
		}
	}()

	// Version N under load throughout.
	loadCtx, stopLoad := context.WithCancel(ctx)
	type result struct {
		rep *loadtest.Report
		err error
	}
	done := make(chan result, 1)
	nURLs := []string{n1.URL, n2.URL}
	go func() {
		rep, err := loadtest.Run(loadCtx, loadtest.Config{Replicas: nURLs, Clients: 6, Duration: 5 * time.Minute, Tenant: "t", Seed: 3})
		done <- result{rep, err}
	}()

	// moreWrites waits until version N has committed a few more chart
	// versions: the load goes on through each phase of the upgrade.
	moreWrites := func() {
		t.Helper()
		count := func() int {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM chart_versions`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		from := count()
		waitLong(t, func() bool { return count() >= from+10 })
	}
	first, _ := procs.LaunchChartd(t, bins.chartd, opts(), args...)
	launched := time.Now()
	waitLong(t, waiting(1))
	t.Logf("N+1 blocked in the migration after %v", time.Since(launched))
	moreWrites()
	first.Kill()
	if v := applied(); v >= version {
		t.Fatalf("migration %d recorded although its replica was killed mid-way", version)
	}
	second, listening := procs.LaunchChartd(t, bins.chartd, opts(), args...)
	// The killed replica's statement still waits in PostgreSQL, in the
	// session that holds goose's advisory lock: the second replica waits
	// for that lock until the statement ends, once the table is free.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("second N+1:\n%s", second.Logs())
		}
	})
	moreWrites()
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	select {
	case addr, ok := <-listening:
		if !ok {
			t.Fatalf("N+1 exited instead of migrating:\n%s", second.Logs())
		}
		second.URL = "http://" + addr
	case <-time.After(2 * time.Minute):
		t.Fatalf("N+1 did not finish the migration:\n%s", second.Logs())
	}
	if v := applied(); v != version {
		t.Fatalf("after N+1 started the database is at %d, want %d", v, version)
	}
	if !regexp.MustCompile(`"msg":"sqldb: applied migration","version":` + strconv.Itoa(version)).MatchString(second.Logs()) {
		t.Errorf("N+1 did not log applying migration %d:\n%s", version, second.Logs())
	}
	// N keeps serving beside N+1 a little longer, then the load stops.
	upload(t, second.URL+"/api/t/charts", charttest.Chart("after", "1.0.0", nil))
	moreWrites()
	stopLoad()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Logf("version N during the upgrade:\n%s", res.rep.Table())
	for i, e := range res.rep.Errors {
		if i == 20 {
			t.Errorf("... %d errors in all", len(res.rep.Errors))
			break
		}
		t.Errorf("version N failed while N+1 migrated: %s", e)
	}
	if len(res.rep.Written) == 0 {
		t.Fatal("version N took no writes during the upgrade")
	}
	// Both versions read everything either wrote.
	for _, e := range res.rep.Verify(ctx, []string{n1.URL, n2.URL, second.URL}, "t") {
		t.Error(e)
	}
	for _, base := range []string{n1.URL, second.URL} {
		if v := versions(t, base+"/t/index.yaml"); len(v["before"]) != 1 || len(v["after"]) != 1 {
			t.Errorf("%s: %v", base, v)
		}
	}
	// A replica of N that restarts mid-rollout still starts.
	n3 := procs.StartChartdWith(t, binN, opts(), args...)
	if v := versions(t, n3.URL+"/t/index.yaml"); len(v["after"]) != 1 {
		t.Errorf("restarted N: %v", v)
	}
	for _, p := range []*procs.Proc{n1, n2, n3, second} {
		if strings.Contains(p.Logs(), `"level":"ERROR"`) {
			t.Errorf("errors logged:\n%s", p.Logs())
		}
	}
}

// waitLong is waitFor for a chartd that is still starting.
func waitLong(t *testing.T, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Minute)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("condition not reached in 2 minutes")
		}
	}
}
