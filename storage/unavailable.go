package storage

import (
	"context"
	"errors"
	"net"
	"syscall"
)

// Unreachable reports whether err says that a store's server could not be
// reached or went away: a refused or reset connection, a network timeout, a
// failed name lookup. Such a failure is the server's, not the request's, and
// passes once the server is back, so it is answered 503 with Retry-After,
// not 500 (which says the request hit a bug).
func Unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var (
		op  *net.OpError
		dns *net.DNSError
		ne  net.Error
	)
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// UnavailableError is the error of a store that could not be reached. It
// is ErrUnavailable for errors.Is, and keeps its cause for errors.As and
// the log; its text names the store, never its address, because it is
// what the client is shown.
type UnavailableError struct {
	Store string // "object storage", "metadata database"
	Err   error
}

func (e *UnavailableError) Error() string { return e.Store + " unreachable: " + ErrUnavailable.Error() }

// Unwrap implements errors.Is/As over both the sentinel and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// MarkUnreachable wraps err in an *UnavailableError of store when it says
// the store could not be reached, and returns it unchanged otherwise.
func MarkUnreachable(store string, err error) error {
	if !Unreachable(err) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &UnavailableError{Store: store, Err: err}
}

// objectStorage names the bucket in an UnavailableError.
const objectStorage = "object storage"
