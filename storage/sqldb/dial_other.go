//go:build !linux

package sqldb

import (
	"syscall"
	"time"
)

type rawConn = syscall.RawConn

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not offered; the
// keepalive probes still find a dead peer.
func setUserTimeout(rawConn, time.Duration) error { return nil }
