// Package pgtest runs a throwaway PostgreSQL for tests: one server per test
// binary, started by Main from TestMain, and a fresh database per test from
// DSN.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) { dsn := pgtest.DSN(t); ... }
//
// The server is found through `pg_config --bindir` or /usr/lib/postgresql/15/bin.
// When it is missing the tests fail (never skip) and say to run `make tools`.
// Setting CHARTD_TEST_POSTGRES to an administrator DSN uses that server
// instead of starting one.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvDSN names the variable through which Main hands the server to DSN (an
// environment variable rather than a package variable, so the harness keeps
// no mutable state of its own and can be pointed at an existing server).
const EnvDSN = "CHARTD_TEST_POSTGRES"

// fallbackBinDir is where Debian's postgresql-15 puts the server.
const fallbackBinDir = "/usr/lib/postgresql/15/bin"

// Main starts PostgreSQL, runs the tests and stops the server, returning the
// exit code for os.Exit. A server that cannot start fails the whole binary.
func Main(m *testing.M) int {
	if os.Getenv(EnvDSN) != "" {
		return m.Run()
	}
	srv, err := start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: cannot start PostgreSQL: %v\n", err)
		return 1
	}
	defer srv.stop()
	if err := os.Setenv(EnvDSN, srv.dsn); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	return m.Run()
}

// DSN creates an empty database for the test, dropped when it ends, and
// returns its URL.
func DSN(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		tb.Fatal("pgtest: no server; call os.Exit(pgtest.Main(m)) from TestMain")
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			tb.Errorf("pgtest: %v", err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

type server struct {
	bin, dir, data string
	asPostgres     bool
	dsn            string
	// watchdog stops the server and removes dir when its stdin closes:
	// when stop closes it, or when the test binary dies (a panic, a
	// -timeout, a kill -9), so no server outlives its tests.
	watchdog *exec.Cmd
	lifeline io.WriteCloser
}

// binDir finds the PostgreSQL server binaries.
func binDir() (string, error) {
	var tried []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	if _, err := os.Stat(filepath.Join(fallbackBinDir, "pg_ctl")); err == nil {
		return fallbackBinDir, nil
	}
	tried = append(tried, fallbackBinDir)
	return "", fmt.Errorf("initdb/pg_ctl not found (looked in pg_config --bindir and %s); run `make tools`", strings.Join(tried, ", "))
}

func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	// PostgreSQL refuses to run as root: run it as the postgres user, on a
	// directory it owns.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user: %w; run `make tools`", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.asPostgres = true
	}
	if err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The free port may be taken between asking and binding: try again.
	var startErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if startErr = s.launch(port); startErr == nil {
			s.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			break
		}
	}
	if startErr != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\n%s", startErr, log)
	}
	if err := s.startWatchdog(); err != nil {
		s.stopNow()
		return nil, err
	}
	return s, nil
}

// launch starts the server on port over its data directory.
func (s *server) launch(port int) error {
	// Durability is pointless for a throwaway server; the socket lives
	// in our directory so it never collides with a system server's.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, s.dir)
	return s.run("pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start")
}

// startWatchdog starts a shell that waits for EOF on its stdin, then stops
// the server and removes its directory. It runs in its own process group so
// a ^C that kills the tests does not kill it first.
func (s *server) startWatchdog() error {
	stop := s.command("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop")
	script := "cat >/dev/null; " + shellQuote(stop.Args...) + " >/dev/null 2>&1; rm -rf " + shellQuote(s.dir)
	s.watchdog = exec.Command("/bin/sh", "-c", script)
	s.watchdog.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if s.lifeline, err = s.watchdog.StdinPipe(); err != nil {
		return err
	}
	return s.watchdog.Start()
}

// stop hands the shutdown to the watchdog and waits for it.
func (s *server) stop() {
	s.lifeline.Close()
	if err := s.watchdog.Wait(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop: %v\n", err)
	}
}

// stopNow stops the server directly (when there is no watchdog yet).
func (s *server) stopNow() {
	if err := s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop: %v\n", err)
	}
	os.RemoveAll(s.dir)
}

func shellQuote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// command builds the command for a PostgreSQL binary, run as the postgres
// user when we are root.
func (s *server) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *server) run(name string, args ...string) error {
	cmd := s.command(name, args...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out.String())
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
