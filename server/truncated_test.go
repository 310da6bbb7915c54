package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rawRequest sends head and body over a fresh TCP connection, announcing
// declared bytes of body; with halfClose it then closes its sending side,
// as a client that died mid-upload would. It reads the answer; status 0:
// the server closed the connection without answering.
func rawRequest(t *testing.T, addr, method, path, ctype string, declared int, body []byte, halfClose bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, addr, declared)
	if ctype != "" {
		fmt.Fprintf(&head, "Content-Type: %s\r\n", ctype)
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(append([]byte(head.String()), body...)); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// multipartForm builds a chart+prov form; open leaves out the closing
// boundary, as a form cut short does.
func multipartForm(t *testing.T, fields [][2][]byte, open bool) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		w, err := mw.CreateFormFile(string(f[0]), string(f[0]))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f[1])
	}
	if !open {
		_ = mw.Close()
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// A body shorter than its Content-Length, or a form without its closing
// boundary, is the client's fault on every write route of both protocols:
// a 4xx (or a closed connection), never a 500 or an ERROR line, and
// nothing is committed. A body cut short is sent, then the connection
// half-closed, which net/http also reports as the request's cancellation
// (499 when that is noticed first); a form that lacks only its closing
// boundary has its whole Content-Length, so the answer is exactly 400.
func TestTruncatedBodies(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newTestServerLog(t, nil, log)
	addr := ts.Listener.Addr().String()

	signer, err := openpgp.NewEntity("Release", "", "release@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Large enough that the body spans several reads.
	big := map[string]string{"README.md": randomText(256 << 10)}
	tgz := charttest.Chart("cut", "1.0.0", big)
	_, prov := signed(t, signer, "base", "1.0.0")
	if r := ts.upload(t, "/api/charts", charttest.Chart("base", "1.0.0", nil)); r.status != 201 {
		t.Fatalf("setup upload: %d %s", r.status, r.body)
	}
	blob := []byte(randomText(256 << 10))
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[]}`, digest.FromString("{}")))
	session := func(t *testing.T) string {
		r := ts.do(t, "POST", "/v2/oci/blobs/uploads/", nil, nil)
		if r.status != 202 {
			t.Fatalf("start upload: %d %s", r.status, r.body)
		}
		return r.header.Get("Location")
	}
	form, formType := multipartForm(t, [][2][]byte{{[]byte("chart"), tgz}, {[]byte("prov"), prov}}, false)
	openForm, openFormType := multipartForm(t, [][2][]byte{{[]byte("chart"), tgz}, {[]byte("prov"), prov}}, true)
	openProvForm, openProvType := multipartForm(t, [][2][]byte{{[]byte("prov"), prov}}, true)
	half := func(b []byte) []byte { return b[:len(b)/2] }

	tests := []struct {
		name         string
		method, path string // path "" asks for a fresh upload session
		suffix       string // appended to the session's path
		ctype        string
		declared     int
		body         []byte
		// unreferenced is how many whole parts may be left in the store,
		// referenced by nothing (GC removes them, as after any refused
		// upload): a form's chart part that arrived complete before the
		// form broke off.
		unreferenced int
	}{
		// declared == len(body): only the closing boundary is missing.
		{"chart API raw upload", "POST", "/api/charts", "", "", len(tgz), half(tgz), 0},
		{"chart API multipart cut short", "POST", "/api/charts", "", formType, len(form), half(form), 0},
		{"chart API multipart without closing boundary", "POST", "/api/charts", "", openFormType, len(openForm), openForm, 1},
		{"prov upload raw", "POST", "/api/prov", "", "", len(prov), half(prov), 0},
		{"prov upload multipart without closing boundary", "POST", "/api/prov", "", openProvType, len(openProvForm), openProvForm, 0},
		{"keys POST", "POST", "/api/keys", "", "", 4096, []byte(armoredPublic(t, signer))[:100], 0},
		{"OCI monolithic POST", "POST", "/v2/oci/blobs/uploads/?digest=" + digest.FromBytes(blob).String(), "", "application/octet-stream", len(blob), half(blob), 0},
		{"OCI PATCH", "PATCH", "", "", "application/octet-stream", len(blob), half(blob), 0},
		{"OCI PUT with body", "PUT", "", "digest=" + digest.FromBytes(blob).String(), "application/octet-stream", len(blob), half(blob), 0},
		{"OCI manifest PUT", "PUT", "/v2/oci/manifests/v1", "", "application/vnd.oci.image.manifest.v1+json", len(manifest), half(manifest), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = session(t)
				if tt.suffix != "" {
					path += "?" + tt.suffix
				}
			}
			before := ts.storedFiles(t)
			mark := len(logs.String())
			cut := tt.declared > len(tt.body)
			status, answer := rawRequest(t, addr, tt.method, path, tt.ctype, tt.declared, tt.body, cut)
			switch {
			case !cut && status != 400:
				t.Errorf("status %d, want 400: %s", status, answer)
			case cut && status != 0 && (status < 400 || status >= 500):
				t.Errorf("status %d, want a 4xx: %s", status, answer)
			}
			t.Logf("%d %s", status, answer)
			if l := logs.String()[mark:]; strings.Contains(l, "level=ERROR") {
				t.Errorf("logged at ERROR:\n%s", l)
			}
			if n := ts.storedFiles(t); n-before > tt.unreferenced {
				t.Errorf("%d blobs committed", n-before)
			}
			if tt.path == "" {
				// The session did not advance: what was cut short is not part of it.
				if r := ts.do(t, "GET", strings.SplitN(path, "?", 2)[0], nil, nil); r.header.Get("Range") != "0-0" {
					t.Errorf("session after the cut: %d Range %q", r.status, r.header.Get("Range"))
				}
			}
		})
	}
	idx := loadIndex(t, ts.do(t, "GET", "/index.yaml", nil, nil).body)
	if len(idx.Entries) != 1 || len(idx.Entries["base"]) != 1 {
		t.Errorf("index after the cut uploads: %v", idx.Entries)
	}
	if r := ts.do(t, "GET", "/api/charts/base/1.0.0", nil, nil); !strings.Contains(string(r.body), `"signed":false`) {
		t.Errorf("a cut .prov was attached: %s", r.body)
	}
	if r := ts.do(t, "GET", "/api/keys", nil, nil); string(bytes.TrimSpace(r.body)) != "[]" {
		t.Errorf("a cut key was stored: %s", r.body)
	}
	for _, p := range []string{"/v2/oci/manifests/v1", "/v2/oci/blobs/" + digest.FromBytes(blob).String()} {
		if r := ts.do(t, "GET", p, nil, nil); r.status != 404 {
			t.Errorf("GET %s after the cut: %d", p, r.status)
		}
	}
}
