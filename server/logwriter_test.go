package server

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeLog records each write its LogWriter makes, as stderr would see them.
type writeLog struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
}

func newWriteLog() *writeLog { return &writeLog{wrote: make(chan struct{}, 1)} }

func (l *writeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.writes = append(l.writes, string(p))
	l.mu.Unlock()
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *writeLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.writes...)
}

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %d\n", i))
	}
	return out
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name string
		// n lines are written, then the writer is closed, then after more.
		n, after int
		// before: the writes made before Close; want: all of them.
		before, want []string
	}{
		{"a lone line goes straight through", 1, 0,
			lines(0, 1), lines(0, 1)},
		{"a burst waits for one write after the first line", 5, 0,
			lines(0, 1), []string{"line 0\n", strings.Join(lines(1, 5), "")}},
		{"lines after Close go straight through", 3, 2,
			lines(0, 1), []string{"line 0\n", strings.Join(lines(1, 3), ""), "line 3\n", "line 4\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newWriteLog()
			lw := NewLogWriter(out)
			lw.every = time.Hour // only Close flushes
			for _, l := range lines(0, tt.n) {
				if n, err := lw.Write([]byte(l)); n != len(l) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", l, n, err)
				}
			}
			if diff := cmp.Diff(tt.before, out.get()); diff != "" {
				t.Errorf("writes before Close (-want +got):\n%s", diff)
			}
			if err := lw.Close(); err != nil {
				t.Fatal(err)
			}
			for _, l := range lines(tt.n, tt.n+tt.after) {
				_, _ = lw.Write([]byte(l))
			}
			if diff := cmp.Diff(tt.want, out.get()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLogWriterBound: what waits is bounded; the line that fills the
// buffer writes it.
func TestLogWriterBound(t *testing.T) {
	out := newWriteLog()
	lw := NewLogWriter(out)
	lw.every = time.Hour
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	for i := 0; i < maxLogBuffer/len(line)+1; i++ {
		_, _ = lw.Write(line)
	}
	got := out.get()
	if len(got) != 2 || len(got[1]) < maxLogBuffer {
		t.Fatalf("after %d bytes: %d writes, want the first line and one batch of at least %d bytes", maxLogBuffer+len(line), len(got), maxLogBuffer)
	}
}

// TestLogWriterInterval: waiting lines go out within the interval
// without Close.
func TestLogWriterInterval(t *testing.T) {
	out := newWriteLog()
	lw := NewLogWriter(out)
	defer lw.Close()
	_, _ = lw.Write([]byte("first\n"))
	<-out.wrote
	_, _ = lw.Write([]byte("second\n"))
	select {
	case <-out.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting line was not written")
	}
	if diff := cmp.Diff([]string{"first\n", "second\n"}, out.get()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

// TestLogWriterConcurrent: concurrent writers' lines are each written
// once, whole, and in each writer's order.
func TestLogWriterConcurrent(t *testing.T) {
	out := newWriteLog()
	lw := NewLogWriter(out)
	const writers, per = 8, 500
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				_, _ = lw.Write(fmt.Appendf(nil, "w%d %d\n", w, i))
			}
		}()
	}
	wg.Wait()
	_ = lw.Close()
	all := strings.Join(out.get(), "")
	next := make([]int, writers)
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(all, "\n"), "\n") {
		var w, i int
		if _, err := fmt.Sscanf(l, "w%d %d", &w, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d after %d", w, i, next[w]-1)
		}
		next[w]++
		n++
	}
	if n != writers*per {
		t.Errorf("%d lines written, want %d", n, writers*per)
	}
	if len(out.get()) >= writers*per {
		t.Errorf("%d writes for %d lines: nothing was batched", len(out.get()), writers*per)
	}
}
