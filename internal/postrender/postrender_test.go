package postrender

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pr.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExec(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		args       []string
		want, err  string
	}{
		{"filters stdin", "sed s/a/b/g\n", nil, "bbb\n", ""},
		{"gets its args", "cat; echo \"$@\"\n", []string{"x", "y z"}, "aaa\nx y z\n", ""},
		{"fails with its stderr", "echo broken >&2; exit 3\n", nil, "", "error output:\nbroken\n: exit status 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewExec(script(t, tt.body), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.Run(context.Background(), []byte("aaa\n"))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Errorf("got %q, %v; want %q", out, err, tt.want)
			}
		})
	}
	if _, err := NewExec("no-such-post-renderer"); err == nil || !strings.HasPrefix(err.Error(), "unable to find binary at no-such-post-renderer: ") {
		t.Errorf("missing binary: %v", err)
	}
}
