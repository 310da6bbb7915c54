package storage

import "io"

// hashPipe hashes on its own goroutine, so that hashing a large blob
// overlaps with reading and writing it: a push then costs about the larger
// of the two instead of their sum. Memory is fixed: at most pipeDepth
// buffers of pipeChunk bytes, allocated only as the blob grows, so a small
// chart costs one small buffer and a 200 MB blob no more than a 1 MB one.
type hashPipe struct {
	h    io.Writer
	cur  []byte
	made int
	free chan []byte
	full chan []byte
	done chan struct{}
}

const (
	pipeChunk = 256 << 10
	pipeDepth = 4
)

func newHashPipe(h io.Writer) *hashPipe {
	p := &hashPipe{
		h:    h,
		free: make(chan []byte, pipeDepth),
		full: make(chan []byte, pipeDepth),
		done: make(chan struct{}),
	}
	go func() {
		defer close(p.done)
		for b := range p.full {
			_, _ = p.h.Write(b) // hash writers never fail
			p.free <- b[:0]
		}
	}()
	return p
}

// Write copies p into the current buffer, handing full buffers to the hasher.
func (p *hashPipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = p.next(len(b))
		}
		k := copy(p.cur[len(p.cur):cap(p.cur)], b)
		p.cur = p.cur[:len(p.cur)+k]
		b = b[k:]
		if len(p.cur) == cap(p.cur) {
			p.full <- p.cur
			p.cur = nil
		}
	}
	return n, nil
}

// next returns an empty buffer: a recycled one, a new one while fewer than
// pipeDepth exist, or else the next one the hasher frees. The first buffer
// is only as large as the first write needs, up to pipeChunk.
func (p *hashPipe) next(want int) []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < pipeDepth {
		p.made++
		size := pipeChunk
		if p.made == 1 && want < pipeChunk {
			size = max(want, 32<<10)
		}
		return make([]byte, 0, size)
	}
	return <-p.free
}

// Wait hashes what is left and stops the hasher; the hash is complete after.
func (p *hashPipe) Wait() {
	if len(p.cur) > 0 {
		p.full <- p.cur
		p.cur = nil
	}
	close(p.full)
	<-p.done
}
