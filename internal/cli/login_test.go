package cli_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/ocitest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// helmIn runs real Helm 3.22 with stdin.
func (h *harness) helmIn(stdin string, args ...string) result {
	h.t.Helper()
	cmd := exec.Command(peers.Path(h.t, "helm"), args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("run helm: %v", err)
	}
	return result{out.String(), errOut.String(), code}
}

// TestRegistryLoginLikeHelm: against a plain-HTTP registry, Helm 3 logs in
// with --insecure (and without any flag: its transport falls back from
// HTTPS to HTTP when the registry answers in plain HTTP); -p together with
// --password-stdin takes the password from stdin. Each login is followed by
// a logout through the other client, and both print the same.
func TestRegistryLoginLikeHelm(t *testing.T) {
	h := newHarness(t)
	host := ocitest.Start(t, "alice", "s3cret").Host
	cases := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"-u", "alice", "-p", "s3cret", "--insecure"}},
		{"", []string{"-u", "alice", "-p", "s3cret"}},
		{"", []string{"-u", "alice", "-p", "wrong", "--insecure"}},
		{"s3cret\n", []string{"-u", "alice", "--password-stdin", "--insecure"}},
		{"s3cret\r\n", []string{"-u", "alice", "-p", "ignored", "--password-stdin", "--plain-http"}},
		{"wrong\n", []string{"-u", "alice", "-p", "s3cret", "--password-stdin", "--plain-http"}},
		{"s3cret", []string{"--password-stdin", "--plain-http"}},
	}
	same := 0
	for _, tt := range cases {
		args := append([]string{"registry", "login", host}, tt.args...)
		rh := h.helmIn(tt.stdin, args...)
		h.ours("registry", "logout", host)
		ro := h.oursIn(tt.stdin, args...)
		h.helm("registry", "logout", host)
		if ro != rh {
			t.Errorf("%s:\nours %+v\nhelm %+v", strings.Join(tt.args, " "), ro, rh)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}
