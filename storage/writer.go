package storage

import (
	"context"
	"io"

	"gocloud.dev/blob"
)

// objectWriter writes one object: Close commits it, Abort commits nothing.
type objectWriter interface {
	io.Writer
	Close() error
	Abort()
}

// newWriter opens a writer for key. Everywhere but Azure it is gocloud's
// streaming Writer, aborted by cancelling its context before Close.
//
// On Azure that Writer's Close panics after any failed upload (gocloud
// v0.47.0: the upload goroutine clears the pipe that Close's deferred
// cleanup then closes), which a cancelled write, a lost create-only race
// (IfNotExist) or a network error all cause; the driver tests against
// Azurite found it. There the bytes go through Bucket.Upload instead, which
// reads them from a pipe: an error handed to the pipe fails the upload
// before its block list is committed, and Close has no pipe to trip on.
func (s *BlobStore) newWriter(ctx context.Context, key string, opts *blob.WriterOptions) (objectWriter, error) {
	if s.uploadOnly {
		return s.newUploadWriter(ctx, key, opts), nil
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	return &streamWriter{Writer: w, cancel: cancel}, nil
}

type streamWriter struct {
	*blob.Writer
	cancel context.CancelFunc
}

func (w *streamWriter) Close() error {
	defer w.cancel()
	return w.Writer.Close()
}

func (w *streamWriter) Abort() {
	w.cancel()
	_ = w.Writer.Close()
}

type uploadWriter struct {
	pw   *io.PipeWriter
	done chan error
}

func (s *BlobStore) newUploadWriter(ctx context.Context, key string, opts *blob.WriterOptions) *uploadWriter {
	pr, pw := io.Pipe()
	w := &uploadWriter{pw: pw, done: make(chan error, 1)}
	go func() {
		err := s.bucket.Upload(ctx, key, pr, opts)
		// Unblocks a writer still writing when the upload gave up.
		pr.CloseWithError(errUploadEnded(err))
		w.done <- err
	}()
	return w
}

func errUploadEnded(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

func (w *uploadWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *uploadWriter) Close() error {
	_ = w.pw.Close()
	return <-w.done
}

func (w *uploadWriter) Abort() {
	_ = w.pw.CloseWithError(errAborted)
	<-w.done
}

type abortedError struct{}

func (abortedError) Error() string { return "storage: write aborted" }

var errAborted error = abortedError{}
