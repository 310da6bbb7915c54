package server

import (
	"io"
	"sync"
	"time"
)

// LogWriter batches the process log's lines under load. Every request
// writes an access line, and one write(2) per line was the largest
// avoidable cost of a cached index.yaml GET measured in the process; under
// load the lines of a short interval go out in one write instead.
//
// A line written while the log has been quiet for an interval goes
// straight through, as with a bare writer, so a lone line (the readiness
// line, a warning) is never delayed; only lines that follow another within
// the interval wait, at most that long. A crash loses at most the last
// interval's lines, or maxLogBuffer bytes; Close writes what is left.
type LogWriter struct {
	w     io.Writer
	every time.Duration

	mu     sync.Mutex // guards the fields below
	buf    []byte
	spare  []byte // the last written batch, reused
	last   time.Time
	timer  *time.Timer
	armed  bool
	closed bool

	// wmu orders the writes to w: it is taken while mu is held, so a
	// batch handed over is written before any line that came after it.
	wmu sync.Mutex
}

const (
	// logFlushEvery bounds how long a line waits under load.
	logFlushEvery = 10 * time.Millisecond
	// maxLogBuffer bounds what waits: beyond it, the writer that fills
	// the buffer writes it, so a slow stderr slows the server down as a
	// bare writer would rather than growing memory.
	maxLogBuffer = 256 << 10
)

// NewLogWriter returns a LogWriter over w; Close it before the process exits.
func NewLogWriter(w io.Writer) *LogWriter {
	lw := &LogWriter{w: w, every: logFlushEvery}
	lw.timer = time.AfterFunc(time.Hour, lw.Flush)
	lw.timer.Stop()
	return lw
}

// Write takes one log line (slog handlers write each record in one call).
func (lw *LogWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	now := time.Now()
	if lw.closed || (len(lw.buf) == 0 && now.Sub(lw.last) >= lw.every) {
		lw.last = now
		lw.wmu.Lock()
		lw.mu.Unlock()
		defer lw.wmu.Unlock()
		return lw.w.Write(p)
	}
	lw.buf = append(lw.buf, p...)
	if len(lw.buf) >= maxLogBuffer {
		lw.flushLocked()
		return len(p), nil
	}
	if !lw.armed {
		lw.armed = true
		lw.timer.Reset(lw.every)
	}
	lw.mu.Unlock()
	return len(p), nil
}

// Flush writes the lines waiting, if any.
func (lw *LogWriter) Flush() {
	lw.mu.Lock()
	lw.flushLocked()
}

// flushLocked hands the batch to w; it is called with mu held and releases it.
func (lw *LogWriter) flushLocked() {
	if lw.armed {
		lw.armed = false
		lw.timer.Stop()
	}
	if len(lw.buf) == 0 {
		lw.mu.Unlock()
		return
	}
	b := lw.buf
	lw.buf, lw.spare = lw.spare[:0], nil
	lw.last = time.Now()
	lw.wmu.Lock()
	lw.mu.Unlock()
	// A log write has no one to report a failure to (slog drops it too).
	_, _ = lw.w.Write(b)
	lw.wmu.Unlock()
	lw.mu.Lock()
	if lw.spare == nil && cap(b) <= maxLogBuffer*2 {
		lw.spare = b[:0]
	}
	lw.mu.Unlock()
}

// Close writes what is left; later lines go straight through.
func (lw *LogWriter) Close() error {
	lw.mu.Lock()
	lw.closed = true
	lw.flushLocked()
	return nil
}
