// Package objstore runs real object storage servers for tests: MinIO (S3),
// Azurite (Azure Blob) and fake-gcs-server (GCS), each on 127.0.0.1 at a
// free port, stopped when the test ends. `make tools` installs them into
// bin/peers; a missing one fails the test (never skips) naming the target.
//
//	s3 := objstore.StartMinIO(t)
//	url := s3.URL(s3.Bucket(t))        // s3://b1?endpoint=…
//	cmd.Env = append(os.Environ(), s3.Env()...)
package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// Server is an object storage server started for a test.
type Server interface {
	// Bucket creates a fresh, empty bucket (container) and returns its name.
	Bucket(tb testing.TB) string
	// URL is the gocloud.dev/blob URL of a bucket.
	URL(bucket string) string
	// Env is the environment a process needs to reach the server.
	Env() []string
}

// proc is a running server process whose output is kept for failures.
type proc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func start(tb testing.TB, bin string, args []string, env []string) *proc {
	tb.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so the server's children (npm's node) go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("objstore: start %s: %v", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, out: &out}
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return p
}

// waitReady polls url until it answers with one of the ok statuses, bounded
// by a deadline: these servers give no other readiness signal.
func (p *proc) waitReady(tb testing.TB, url string, ok ...int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			for _, c := range ok {
				if res.StatusCode == c {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("objstore: %s never became ready:\n%s", url, p.out.String())
		case <-tick.C:
		}
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func bucketName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "b" + hex.EncodeToString(b[:])
}

// MinIO is a MinIO server: S3 through s3:// URLs.
type MinIO struct {
	Endpoint             string // http://127.0.0.1:port
	AccessKey, SecretKey string
	// What a restart needs: the same directory and ports.
	bin, dir      string
	port, console int
	proc          *proc
}

// StartMinIO runs MinIO over a temporary directory.
func StartMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	m := &MinIO{AccessKey: "chartd", SecretKey: "chartd-secret-key", bin: peers.Path(tb, "minio"), dir: tb.TempDir(),
		port: freePort(tb), console: freePort(tb)}
	m.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", m.port)
	m.run(tb)
	return m
}

func (m *MinIO) run(tb testing.TB) {
	tb.Helper()
	m.proc = start(tb, m.bin, []string{"server", m.dir, "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", m.port), "--console-address", fmt.Sprintf("127.0.0.1:%d", m.console)},
		[]string{"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey, "MINIO_BROWSER=off",
			"MINIO_UPDATE=off", "MINIO_CI_CD=1"})
	m.proc.waitReady(tb, m.Endpoint+"/minio/health/ready", http.StatusOK)
}

// Kill stops the server at once, as an outage would; Restart brings it
// back over the same directory and port.
func (m *MinIO) Kill() {
	_ = syscall.Kill(-m.proc.cmd.Process.Pid, syscall.SIGKILL)
	_ = m.proc.cmd.Wait()
}

// Restart starts a killed server again.
func (m *MinIO) Restart(tb testing.TB) {
	tb.Helper()
	m.run(tb)
}

// Bucket implements Server.
func (m *MinIO) Bucket(tb testing.TB) string {
	tb.Helper()
	name := bucketName()
	c := m.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("objstore: create MinIO bucket: %v", err)
	}
	return name
}

// URL implements Server.
func (m *MinIO) URL(bucket string) string {
	q := url.Values{"endpoint": {m.Endpoint}, "region": {"us-east-1"}, "use_path_style": {"true"}}
	return "s3://" + bucket + "?" + q.Encode()
}

// Env implements Server.
func (m *MinIO) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + m.AccessKey, "AWS_SECRET_ACCESS_KEY=" + m.SecretKey, "AWS_REGION=us-east-1"}
}

// Azurite is Azure's storage emulator: Azure Blob through azblob:// URLs.
type Azurite struct {
	Host         string // 127.0.0.1:port
	Account, Key string
}

// The emulator's well-known development account.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// StartAzurite runs azurite-blob over a temporary directory.
func StartAzurite(tb testing.TB) *Azurite {
	tb.Helper()
	bin := peers.Path(tb, "azurite-blob")
	port := freePort(tb)
	a := &Azurite{Host: fmt.Sprintf("127.0.0.1:%d", port), Account: azuriteAccount, Key: azuriteKey}
	// --skipApiVersionCheck: the Go SDK may speak a newer API version
	// than the emulator knows; --loose accepts headers it does not model.
	p := start(tb, bin, []string{"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", tb.TempDir(),
		"--skipApiVersionCheck", "--loose", "--silent"}, nil)
	// An unauthenticated request is refused (403 or 400) once it listens.
	p.waitReady(tb, "http://"+a.Host+"/"+a.Account+"?comp=list", http.StatusForbidden, http.StatusBadRequest, http.StatusOK)
	return a
}

func (a *Azurite) serviceURL() string { return "http://" + a.Host + "/" + a.Account }

// Bucket implements Server: a container.
func (a *Azurite) Bucket(tb testing.TB) string {
	tb.Helper()
	cred, err := azblob.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(a.serviceURL()+"/", cred, nil)
	if err != nil {
		tb.Fatal(err)
	}
	name := bucketName()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateContainer(ctx, name, nil); err != nil {
		tb.Fatalf("objstore: create Azurite container: %v", err)
	}
	return name
}

// URL implements Server.
func (a *Azurite) URL(container string) string {
	return "azblob://" + container + "?" + url.Values{"protocol": {"http"}, "domain": {a.Host}}.Encode()
}

// Env implements Server.
func (a *Azurite) Env() []string {
	return []string{"AZURE_STORAGE_ACCOUNT=" + a.Account, "AZURE_STORAGE_KEY=" + a.Key}
}

// FakeGCS is fake-gcs-server: GCS through gs:// URLs.
type FakeGCS struct {
	Host string // 127.0.0.1:port
}

// StartFakeGCS runs fake-gcs-server in memory.
func StartFakeGCS(tb testing.TB) *FakeGCS {
	tb.Helper()
	bin := peers.Path(tb, "fake-gcs-server")
	port := freePort(tb)
	g := &FakeGCS{Host: fmt.Sprintf("127.0.0.1:%d", port)}
	p := start(tb, bin, []string{"-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(port),
		"-backend", "memory", "-public-host", g.Host, "-external-url", "http://" + g.Host, "-log-level", "warn"}, nil)
	p.waitReady(tb, "http://"+g.Host+"/storage/v1/b", http.StatusOK)
	return g
}

// Bucket implements Server.
func (g *FakeGCS) Bucket(tb testing.TB) string {
	tb.Helper()
	name := bucketName()
	res, err := http.Post("http://"+g.Host+"/storage/v1/b?project=chartd", "application/json",
		strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		tb.Fatalf("objstore: create GCS bucket: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("objstore: create GCS bucket: %s", res.Status)
	}
	return name
}

// URL implements Server.
func (g *FakeGCS) URL(bucket string) string { return "gs://" + bucket }

// Env implements Server: gocloud's gcsblob talks to STORAGE_EMULATOR_HOST
// without credentials.
func (g *FakeGCS) Env() []string { return []string{"STORAGE_EMULATOR_HOST=" + g.Host} }

func (m *MinIO) client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(m.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
}

// Keys lists a bucket's keys under prefix, for tests that check what a
// crash left behind.
func (m *MinIO) Keys(tb testing.TB, bucket, prefix string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(m.client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			tb.Fatalf("objstore: list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
