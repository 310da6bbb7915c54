//go:build linux

package sqldb

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sys/unix"

	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// sockopts reads the bounds a dialled connection carries.
func sockopts(t *testing.T, c net.Conn) (userTimeoutMS, keepalive, idle int) {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var e1, e2, e3 error
	if err := raw.Control(func(fd uintptr) {
		userTimeoutMS, e1 = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		keepalive, e2 = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		idle, e3 = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
	}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{e1, e2, e3} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return userTimeoutMS, keepalive, idle
}

// Every connection of the pool is dialled with TCP_USER_TIMEOUT and
// keepalive: 30 s by default, or the DSN's tcp_user_timeout, which is a
// client option (as libpq reads it) and is not sent to the server.
func TestPoolConnectionsBounded(t *testing.T) {
	base := pgtest.DSN(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name string
		dsn  string
		want int
	}{
		{"default", base, int(DefaultTCPUserTimeout.Milliseconds())},
		{"from the DSN", base + sep + "tcp_user_timeout=1234", 1234},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pool, err := openPostgresPool(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			conn, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err) // a tcp_user_timeout sent to the server as a setting would also fail here
			}
			defer conn.Close()
			var got, keepalive, idle int
			if err := conn.Raw(func(dc any) error {
				got, keepalive, idle = sockopts(t, dc.(*stdlib.Conn).Conn().PgConn().Conn())
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got != tc.want || keepalive != 1 || idle != int(keepAlive.Idle.Seconds()) {
				t.Errorf("TCP_USER_TIMEOUT %d ms (want %d), SO_KEEPALIVE %d, TCP_KEEPIDLE %d s", got, tc.want, keepalive, idle)
			}
			var setting string
			if err := conn.QueryRowContext(ctx, `SHOW tcp_user_timeout`).Scan(&setting); err != nil {
				t.Fatal(err)
			}
			if setting != "0" {
				t.Errorf("the server's session got tcp_user_timeout = %s; it is the client's option", setting)
			}
		})
	}
}

func TestPoolRefusesBadUserTimeout(t *testing.T) {
	_, err := openPostgresPool("postgres://u@127.0.0.1:1/db?tcp_user_timeout=soon")
	if err == nil || !strings.Contains(err.Error(), "tcp_user_timeout") {
		t.Fatalf("err = %v, want one naming tcp_user_timeout", err)
	}
}

// A connection to a Unix socket gets no TCP option (setting one would fail
// the dial), only TCP connections do.
func TestDialerSkipsUnixSockets(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := dialer(time.Second, time.Second).DialContext(context.Background(), "unix", dir+"/s")
	if err != nil {
		t.Fatalf("dial a Unix socket: %v", err)
	}
	c.Close()
}
