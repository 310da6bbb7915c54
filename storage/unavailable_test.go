package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/chartd/chartd/storage"
)

func TestMarkUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused dial, wrapped", fmt.Errorf("operation error S3: PutObject: %w", refused), true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"name lookup", &net.DNSError{Err: "no such host", Name: "minio"}, true},
		{"client went away", fmt.Errorf("put: %w", context.Canceled), false},
		{"not found", storage.ErrNotFound, false},
		{"a bug", errors.New("nil map"), false},
		{"a missing file", &os.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := storage.MarkUnreachable("object storage", tc.err)
			if is := errors.Is(got, storage.ErrUnavailable); is != tc.want {
				t.Fatalf("errors.Is(ErrUnavailable) = %t, want %t (%v)", is, tc.want, got)
			}
			if !tc.want {
				if got != tc.err {
					t.Fatalf("changed an error it should leave alone: %v", got)
				}
				return
			}
			// The cause stays reachable; the text hides the address.
			if !errors.Is(got, tc.err) {
				t.Errorf("cause lost: %v", got)
			}
			if want := "object storage unreachable: temporarily unavailable"; got.Error() != want {
				t.Errorf("text %q, want %q", got.Error(), want)
			}
		})
	}
}
