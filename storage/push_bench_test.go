package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkPush200MB measures one 200 MB push with a known digest:
// hashing, writing and committing, into memory and into a file:// bucket.
func BenchmarkPush200MB(b *testing.B) {
	data := make([]byte, 200<<20)
	_, _ = rand.Read(data)
	d := digest.FromBytes(data)
	for _, kind := range []string{"mem", "file"} {
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				u := "mem://"
				if kind == "file" {
					u = "file://" + b.TempDir()
				}
				s, err := OpenBlobs(context.Background(), u, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				// Fed in 32 KiB reads, as a request body arrives.
				if _, err := s.Push(context.Background(), d, struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
