// Package procs starts the project's binaries and the real peers as
// processes for end-to-end tests and benchmarks, and knows when they are
// ready without sleeping.
package procs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// Build compiles a package of this module into dir and returns the binary path.
func Build(root, pkg, dir string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// Proc is a running server process.
type Proc struct {
	Cmd *exec.Cmd
	URL string
	mu  sync.Mutex
	log bytes.Buffer
}

// Logs returns what the process has printed so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// Kill stops the process at once (SIGKILL), as a crash would.
func (p *Proc) Kill() {
	if p.Cmd.Process != nil && p.Cmd.ProcessState == nil {
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
		_ = p.Cmd.Wait()
	}
}

// PeakRSS is the process's peak resident set (VmHWM) in bytes.
func (p *Proc) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", p.Cmd.Process.Pid)
}

// StartChartd runs chartd on a kernel-chosen port and returns once it has
// logged where it listens: the log line is the readiness signal.
func StartChartd(tb testing.TB, bin, dataDir string, args ...string) *Proc {
	tb.Helper()
	// JSON logs: the readiness line is found by parsing them.
	all := append([]string{"--listen-host=127.0.0.1", "--port=0", "--data-dir=" + dataDir, "--log-json"}, args...)
	cmd := exec.Command(bin, all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &Proc{Cmd: cmd}
	tb.Cleanup(p.Kill)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p, line)
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if !sent && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "chartd listening" {
				addr <- rec.Addr
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			tb.Fatalf("chartd exited before listening:\n%s", p.Logs())
		}
		p.URL = "http://" + a
	case <-time.After(60 * time.Second):
		tb.Fatalf("chartd did not start:\n%s", p.Logs())
	}
	return p
}

// FreePort asks the kernel for a free port, for peers that cannot report theirs.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitHTTP polls url until it answers 200, for peers that offer no other
// readiness signal; bounded by a deadline.
func WaitHTTP(tb testing.TB, url string, logs func() string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s never became ready:\n%s", url, logs())
		case <-tick.C:
		}
	}
}

// StartChartMuseum runs the real ChartMuseum v0.16.3 on local storage.
func StartChartMuseum(tb testing.TB, dir string, args ...string) *Proc {
	tb.Helper()
	port := FreePort(tb)
	all := append([]string{fmt.Sprintf("--port=%d", port), "--listen-host=127.0.0.1", "--storage=local",
		"--storage-local-rootdir=" + dir}, args...)
	cmd := exec.Command(peers.Path(tb, "chartmuseum"), all...)
	p := &Proc{Cmd: cmd, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Kill)
	WaitHTTP(tb, p.URL+"/health", p.Logs)
	return p
}
