package oci

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/intake"
)

// racingParts holds two PATCHes of one session at the worst moment: both
// have stored their bytes and neither has advanced the session. The first
// to have stored goes on at once and wins the offset; the second waits
// until the first was answered, so its bytes are the later write. Storing
// is serialised, so "first" is also the order of the writes.
type racingParts struct {
	BlobStore
	write    sync.Mutex
	mu       sync.Mutex
	stored   int
	both     chan struct{} // closed when both have stored
	answered chan struct{} // closed by the test at the first answer
}

func (r *racingParts) PutPart(ctx context.Context, id string, body io.Reader) (string, int64, error) {
	r.write.Lock()
	part, n, err := r.BlobStore.PutPart(ctx, id, body)
	r.mu.Lock()
	r.stored++
	k := r.stored
	if k == 2 {
		close(r.both)
	}
	r.mu.Unlock()
	r.write.Unlock()
	if k == 1 {
		<-r.both
	} else {
		<-r.answered
	}
	return part, n, err
}

// TestRacingPatchesKeepTheWinner: of two PATCHes at one offset, exactly one
// is accepted (202) and the other refused with 416, as the spec says for a
// chunk out of order; the blob is then the winner's bytes, although the
// loser wrote after it, and the loser's part is gone.
func TestRacingPatchesKeepTheWinner(t *testing.T) { forEachBackend(t, testRacingPatchesKeepTheWinner) }

func testRacingPatchesKeepTheWinner(t *testing.T, backend string) {
	race := &racingParts{both: make(chan struct{}), answered: make(chan struct{})}
	h := newHarnessOn(t, backend, func(c *Config, _ *intake.Config) {
		race.BlobStore = c.Blobs
		c.Blobs = race
	})
	resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	chunks := [][]byte{bytes.Repeat([]byte("A"), 4096), bytes.Repeat([]byte("B"), 4096)}
	type answer struct {
		i      int
		status int
		rng    string
	}
	answers := make(chan answer, len(chunks))
	for i, c := range chunks {
		go func() {
			req, _ := http.NewRequest("PATCH", h.srv.URL+loc, bytes.NewReader(c))
			req.Header.Set("Content-Range", "0-4095")
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				answers <- answer{i: i}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers <- answer{i, resp.StatusCode, resp.Header.Get("Range")}
		}()
	}
	first := <-answers
	close(race.answered)
	second := <-answers
	if first.status != http.StatusAccepted || second.status != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("racing PATCHes answered %d then %d, want 202 then 416", first.status, second.status)
	}
	if first.rng != "0-4095" || second.rng != "0-4095" {
		t.Errorf("Range after the race: %q and %q, want 0-4095 twice", first.rng, second.rng)
	}
	if parts := uploadParts(t, h); len(parts) != 1 {
		t.Errorf("parts after the race: %v, want the winner's alone", parts)
	}
	winner, loser := chunks[first.i], chunks[second.i]
	resp, body := h.do("PUT", loc+"?digest="+digest.FromBytes(winner).String(), nil)
	expect(t, "PUT with the winner's digest", resp, body, 201, "")
	_, got := h.do("GET", "/v2/org/app/blobs/"+digest.FromBytes(winner).String(), nil)
	if !bytes.Equal(got, winner) {
		t.Errorf("the blob is %.8q..., want the winner's bytes %.8q...", got, winner)
	}
	resp, _ = h.do("HEAD", "/v2/org/app/blobs/"+digest.FromBytes(loser).String(), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the loser's bytes are a blob: HEAD %d", resp.StatusCode)
	}
}

// TestUploadDirectoryGoesWithSession: however a chunked upload session
// ends (completed, with one chunk or several; cancelled; failed; expired),
// nothing of it stays in the bucket, not even its directory.
func TestUploadDirectoryGoesWithSession(t *testing.T) {
	content := []byte("a blob in three chunks")
	d := digest.FromBytes(content).String()
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, h *harness, loc string)
	}{
		{"completed in chunks", func(t *testing.T, h *harness, loc string) {
			resp, body := h.do("PATCH", loc, content[8:16], "Content-Range", "8-15")
			expect(t, "PATCH", resp, body, 202, "")
			resp, body = h.do("PUT", loc+"?digest="+d, content[16:])
			expect(t, "PUT", resp, body, 201, "")
		}},
		{"completed by a bare PUT", func(t *testing.T, h *harness, loc string) {
			resp, body := h.do("PATCH", loc, content[8:], "Content-Range", "8-21")
			expect(t, "PATCH", resp, body, 202, "")
			resp, body = h.do("PUT", loc+"?digest="+d, nil)
			expect(t, "PUT", resp, body, 201, "")
		}},
		{"cancelled", func(t *testing.T, h *harness, loc string) {
			resp, body := h.do("DELETE", loc, nil)
			expect(t, "DELETE", resp, body, 204, "")
		}},
		{"failed", func(t *testing.T, h *harness, loc string) {
			resp, body := h.do("PUT", loc+"?digest="+digest.FromString("other").String(), content[8:])
			expect(t, "PUT with a wrong digest", resp, body, 400, "DIGEST_INVALID")
		}},
		{"expired", func(t *testing.T, h *harness, loc string) {
			later := time.Now().Add(2 * DefaultUploadTTL)
			if n, err := h.reg.CleanUploads(context.Background(), later); err != nil || n != 1 {
				t.Fatalf("CleanUploads = %d, %v; want 1", n, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			resp, _ := h.do("POST", "/v2/org/app/blobs/uploads/", nil)
			loc := resp.Header.Get("Location")
			resp, body := h.do("PATCH", loc, content[:8], "Content-Range", "0-7")
			expect(t, "first PATCH", resp, body, 202, "")
			if dirs := uploadDirs(t, h); len(dirs) != 1 {
				t.Fatalf("upload directories during the session: %v", dirs)
			}
			tc.end(t, h, loc)
			if dirs := uploadDirs(t, h); len(dirs) != 0 {
				t.Errorf("left under _uploads/: %v", dirs)
			}
		})
	}
}

// uploadDirs lists what _uploads/ holds.
func uploadDirs(t *testing.T, h *harness) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(h.dir, "_uploads"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
