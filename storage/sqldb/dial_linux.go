//go:build linux

package sqldb

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type rawConn = syscall.RawConn

// setUserTimeout sets TCP_USER_TIMEOUT on the socket behind c.
func setUserTimeout(c rawConn, d time.Duration) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("sqldb: TCP_USER_TIMEOUT: %w", err)
	}
	return nil
}
