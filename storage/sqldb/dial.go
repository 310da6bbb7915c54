package sqldb

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultTCPUserTimeout is how long data sent to PostgreSQL may go
// unacknowledged before the kernel gives the connection up, unless the
// DSN's tcp_user_timeout (milliseconds, as libpq reads it) says otherwise.
//
// Why: behind a network partition the server's kernel acknowledges
// nothing, and Linux retransmits for about 15 minutes (tcp_retries2)
// before it reports the connection dead. Requests do not wait for that
// (--db-timeout bounds each call), but long work does: a GC pass, a
// restore or an export runs under no per-call bound, and would hang on a
// dead connection for those minutes. A server that is merely slow or
// holding a lock still acknowledges at once, so the bound never cuts a
// legitimate query short, however long it runs.
const DefaultTCPUserTimeout = 30 * time.Second

// keepAlive probes an idle pooled connection after 15 s and gives it up
// after three unanswered probes 5 s apart, so the pool finds a dead peer
// before a caller does.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

// openPostgresPool opens a database/sql pool on pgx whose connections are
// dialled with the bounds above.
func openPostgresPool(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: postgres DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 && !strings.Contains(dsn, "connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnectTimeout = connectTimeout
	}
	userTimeout := DefaultTCPUserTimeout
	// libpq reads tcp_user_timeout as a client socket option; pgx would
	// pass it to the server as a setting of the session instead.
	if v, ok := cfg.RuntimeParams["tcp_user_timeout"]; ok {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("sqldb: postgres DSN: tcp_user_timeout %q is not a count of milliseconds", v)
		}
		delete(cfg.RuntimeParams, "tcp_user_timeout")
		userTimeout = time.Duration(ms) * time.Millisecond
	}
	cfg.DialFunc = dialer(cfg.ConnectTimeout, userTimeout).DialContext
	return stdlib.OpenDB(*cfg), nil
}

// dialer dials TCP with keepalive and userTimeout (0: the kernel's
// default) set on the socket before it connects.
func dialer(connect, userTimeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:         connect,
		KeepAliveConfig: keepAlive,
		Control: func(network, _ string, c rawConn) error {
			if userTimeout <= 0 || (network != "tcp" && network != "tcp4" && network != "tcp6") {
				return nil // a Unix socket has no retransmissions to bound
			}
			return setUserTimeout(c, userTimeout)
		},
	}
}
