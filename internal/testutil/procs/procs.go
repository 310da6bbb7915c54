// Package procs starts the project's binaries and the real peers as
// processes for end-to-end tests and benchmarks, and knows when they are
// ready without sleeping.
package procs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// CPUTime is the CPU time (user and system) the process has spent so far,
// from /proc at the kernel's clock-tick resolution (10 ms).
func (p *Proc) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted from after it are utime (14th of the line) and stime.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", p.Cmd.Process.Pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ, the same on every Linux ABI Go supports
	return time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}

// Stop ends the process as an operator would (SIGTERM) and waits for it.
func (p *Proc) Stop() {
	if p.Cmd.Process != nil && p.Cmd.ProcessState == nil {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		_ = p.Cmd.Wait()
	}
}

// StartChartd runs chartd on a kernel-chosen port and returns once it has
// logged where it listens: the log line is the readiness signal.
func StartChartd(tb testing.TB, bin, dataDir string, args ...string) *Proc {
	tb.Helper()
	return StartChartdWith(tb, bin, ChartdOptions{DataDir: dataDir}, args...)
}

// ChartdOptions say where and how chartd runs.
type ChartdOptions struct {
	// Dir is the working directory ("": the test's).
	Dir string
	// Env is added to the environment.
	Env []string
	// DataDir is passed as --data-dir unless empty.
	DataDir string
}

func (o ChartdOptions) command(bin string, args []string) *exec.Cmd {
	// JSON logs: the readiness line is found by parsing them.
	all := []string{"--listen-host=127.0.0.1", "--port=0", "--log-json"}
	if o.DataDir != "" {
		all = append(all, "--data-dir="+o.DataDir)
	}
	cmd := exec.Command(bin, append(all, args...)...)
	cmd.Dir = o.Dir
	if len(o.Env) > 0 {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	return cmd
}

// RunChartd runs a chartd that is expected to refuse to start, and returns
// what it printed with its exit error. A chartd that starts listening
// instead is stopped at once and reported with a nil error, so a test can
// tell a refusal from a start.
func RunChartd(tb testing.TB, bin string, o ChartdOptions, args ...string) (string, error) {
	tb.Helper()
	cmd := o.command(bin, args)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	started := make(chan bool, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), `"chartd listening"`) {
				seen = true
				started <- true
			}
		}
		if !seen {
			started <- false
		}
	}()
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		done <- err
	}()
	timeout := time.After(60 * time.Second)
	select {
	case ok := <-started:
		if ok {
			_ = cmd.Process.Kill()
			<-done
			<-scanned
			return out.String(), nil
		}
		err := <-done
		<-scanned
		if err == nil {
			err = errors.New("chartd exited 0 without listening")
		}
		return out.String(), err
	case <-timeout:
		_ = cmd.Process.Kill()
		<-done
		tb.Fatalf("chartd neither started nor exited in 60s")
		return "", nil
	}
}

// StartChartdWith is StartChartd with options.
func StartChartdWith(tb testing.TB, bin string, o ChartdOptions, args ...string) *Proc {
	tb.Helper()
	p, listening := LaunchChartd(tb, bin, o, args...)
	select {
	case a, ok := <-listening:
		if !ok {
			tb.Fatalf("chartd exited before listening:\n%s", p.Logs())
		}
		p.URL = "http://" + a
	case <-time.After(60 * time.Second):
		tb.Fatalf("chartd did not start:\n%s", p.Logs())
	}
	return p
}

// LaunchChartd starts chartd without waiting for it: the channel gets its
// address once it listens, and is closed if it exits first. For tests that
// act while chartd is still starting (a migration under way).
func LaunchChartd(tb testing.TB, bin string, o ChartdOptions, args ...string) (*Proc, <-chan string) {
	tb.Helper()
	cmd := o.command(bin, args)
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
	return p, addr
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
