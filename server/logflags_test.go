package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// parsed is DefaultConfig after Parse of args and env, as chartd starts.
func parsed(t *testing.T, env map[string]string, args ...string) Config {
	t.Helper()
	c := DefaultConfig()
	if err := c.Parse(args, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after %q: %v", args, err)
	}
	return c
}

// loggedServer runs a test server configured by ChartMuseum-style args,
// logging through the logger those args ask for.
func loggedServer(t *testing.T, args ...string) (*testServer, *syncBuffer) {
	t.Helper()
	c := parsed(t, nil, args...)
	logs := &syncBuffer{}
	ts := newTestServerLog(t, func(cfg *Config) {
		cfg.Debug, cfg.LogJSON, cfg.LogHealth = c.Debug, c.LogJSON, c.LogHealth
		cfg.LogLatency, cfg.LogLatencyInteger = c.LogLatency, c.LogLatencyInteger
		cfg.ReadTimeout, cfg.WriteTimeout = c.ReadTimeout, c.WriteTimeout
	}, c.NewLogger(logs))
	return ts, logs
}

// accessLines are the text-format access lines of logs.
func accessLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="request served"`) {
			out = append(out, l)
		}
	}
	return out
}

// ChartMuseum's logging and timeout flags, each observed in what chartd
// does, not only in the parsed configuration.
func TestChartMuseumLoggingFlags(t *testing.T) {
	t.Run("debug", func(t *testing.T) {
		ts, logs := loggedServer(t)
		ts.serve(t, "GET", "/index.yaml", nil, nil)
		if strings.Contains(logs.String(), "level=DEBUG") {
			t.Errorf("debug lines without --debug:\n%s", logs)
		}
		ts, logs = loggedServer(t, "--debug")
		ts.serve(t, "GET", "/index.yaml", nil, nil)
		if !strings.Contains(logs.String(), `level=DEBUG msg="incoming request" method=GET path=/index.yaml`) {
			t.Errorf("--debug logged no debug line:\n%s", logs)
		}
		if c := parsed(t, map[string]string{"DEBUG": "true"}); !c.Debug {
			t.Error("DEBUG=true not applied")
		}
	})
	t.Run("log-json", func(t *testing.T) {
		ts, logs := loggedServer(t)
		ts.serve(t, "GET", "/index.yaml", nil, nil)
		if len(accessLines(logs.String())) != 1 || strings.HasPrefix(logs.String(), "{") {
			t.Errorf("want one text access line without --log-json:\n%s", logs)
		}
		ts, logs = loggedServer(t, "--log-json")
		ts.serve(t, "GET", "/index.yaml", nil, nil)
		served := 0
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("--log-json wrote a line that is not JSON: %q", l)
			}
			if rec["msg"] == "request served" {
				served++
				if rec["route"] != "index" || rec["status"] != float64(200) || rec["path"] != "/index.yaml" {
					t.Errorf("access line %v", rec)
				}
			}
		}
		if served != 1 {
			t.Errorf("%d JSON access lines, want 1:\n%s", served, logs)
		}
	})
	t.Run("log-health", func(t *testing.T) {
		ts, logs := loggedServer(t)
		ts.serve(t, "GET", "/health", nil, nil)
		ts.serve(t, "GET", "/info", nil, nil)
		if l := accessLines(logs.String()); len(l) != 1 || !strings.Contains(l[0], "route=info") {
			t.Errorf("without --log-health only /info is logged, got:\n%s", strings.Join(l, "\n"))
		}
		ts, logs = loggedServer(t, "--log-health")
		ts.serve(t, "GET", "/health", nil, nil)
		if l := accessLines(logs.String()); len(l) != 1 || !strings.Contains(l[0], "route=health") {
			t.Errorf("--log-health: %q", l)
		}
		// Nor does --debug announce them without --log-health.
		ts, logs = loggedServer(t, "--debug")
		ts.serve(t, "GET", "/health", nil, nil)
		if strings.Contains(logs.String(), "/health") {
			t.Errorf("--debug without --log-health logged /health:\n%s", logs)
		}
	})
	t.Run("log-latency", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string // how the latency attribute starts; "" for none
		}{
			{nil, "latency="},
			{[]string{"--log-latency=false"}, ""},
			{[]string{"--log-latency-integer"}, "latency="},
		} {
			ts, logs := loggedServer(t, tt.args...)
			ts.serve(t, "GET", "/index.yaml", nil, nil)
			l := accessLines(logs.String())
			if len(l) != 1 {
				t.Fatalf("%q: access lines %q", tt.args, l)
			}
			_, latency, found := strings.Cut(l[0], " latency=")
			switch {
			case tt.want == "" && found:
				t.Errorf("%q: latency logged: %s", tt.args, l[0])
			case tt.want != "" && !found:
				t.Errorf("%q: no latency: %s", tt.args, l[0])
			case found && strings.Contains(strings.Join(tt.args, " "), "integer"):
				var ns int64
				if _, err := fmt.Sscanf(latency, "%d", &ns); err != nil || strings.ContainsAny(latency, "µmns") {
					t.Errorf("--log-latency-integer: latency %q is not an integer of nanoseconds", latency)
				}
			case found:
				if _, err := time.ParseDuration(strings.Fields(latency)[0]); err != nil {
					t.Errorf("latency %q is not a duration: %v", latency, err)
				}
			}
		}
	})
	t.Run("read-timeout", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			env  map[string]string
			want time.Duration
		}{
			{nil, nil, 0},
			{[]string{"--read-timeout=30"}, nil, 30 * time.Second}, // ChartMuseum's seconds
			{[]string{"--read-timeout=250ms"}, nil, 250 * time.Millisecond},
			{nil, map[string]string{"READ_TIMEOUT": "7"}, 7 * time.Second},
		} {
			c := parsed(t, tt.env, tt.args...)
			srv := newHTTPServer(&c, nil, slog.New(slog.DiscardHandler))
			if c.ReadTimeout != tt.want || srv.ReadTimeout != tt.want {
				t.Errorf("%q %v: ReadTimeout %v on the server %v, want %v", tt.args, tt.env, c.ReadTimeout, srv.ReadTimeout, tt.want)
			}
			if wantHeader := min(maxHeaderWait, tt.want); tt.want > 0 && srv.ReadHeaderTimeout != wantHeader {
				t.Errorf("%q: ReadHeaderTimeout %v, want %v", tt.args, srv.ReadHeaderTimeout, wantHeader)
			}
		}
		if c := DefaultConfig(); c.Parse([]string{"--read-timeout=soon"}, func(string) string { return "" }) == nil {
			t.Error("--read-timeout=soon accepted")
		}
		// Honoured: an upload whose body stalls is answered 408 once the
		// timeout passes, and is not a logged server fault.
		ts, logs := loggedServer(t, "--read-timeout=300ms")
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tgz := charttest.Chart("slow", "1.0.0", nil)
		fmt.Fprintf(conn, "POST /api/charts HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(tgz), tgz[:len(tgz)/2])
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // only against a hang
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.Contains(line, " 408 ") {
			t.Errorf("stalled body: %q %v, want a 408", line, err)
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("a stalled client logged as a server fault:\n%s", logs)
		}
	})
	t.Run("write-timeout", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			env  map[string]string
			want time.Duration
		}{
			{nil, nil, 0},
			{[]string{"--write-timeout=30"}, nil, 30 * time.Second},
			{[]string{"--write-timeout=2m"}, nil, 2 * time.Minute},
			{nil, map[string]string{"WRITE_TIMEOUT": "5"}, 5 * time.Second},
		} {
			c := parsed(t, tt.env, tt.args...)
			if srv := newHTTPServer(&c, nil, slog.New(slog.DiscardHandler)); c.WriteTimeout != tt.want || srv.WriteTimeout != tt.want {
				t.Errorf("%q %v: WriteTimeout %v on the server %v, want %v", tt.args, tt.env, c.WriteTimeout, srv.WriteTimeout, tt.want)
			}
		}
		c := DefaultConfig()
		c.WriteTimeout = -time.Second
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "write-timeout") {
			t.Errorf("a negative write timeout: %v", err)
		}
	})
}
