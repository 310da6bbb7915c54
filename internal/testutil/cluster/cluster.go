// Package cluster runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver and kube-controller-manager on random 127.0.0.1 ports, one
// per test binary, started by Main from TestMain. Each test gets its own
// namespace from Namespace, so tests share the control plane and stay fast.
//
//	func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
//
//	func TestX(t *testing.T) { kc, ns := cluster.Kubeconfig(t), cluster.Namespace(t); ... }
//
// The binaries come from $CHARTD_CLUSTER_BIN or <module root>/bin/cluster,
// where `make cluster` builds them. When they are missing the whole binary
// fails (never skips) and names that target. Nothing runs pods: there is no
// scheduler and no kubelet, so tests drive readiness by patching status.
// Setting CHARTD_TEST_KUBECONFIG to a kubeconfig uses that cluster instead.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
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
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// EnvKubeconfig names the variable through which Main hands the cluster to
// the tests (an environment variable, so the helper keeps no package state
// and can be pointed at an existing cluster).
const EnvKubeconfig = "CHARTD_TEST_KUBECONFIG"

// EnvBin names the directory holding the control-plane binaries.
const EnvBin = "CHARTD_CLUSTER_BIN"

// AdminToken is the static bearer token of the cluster's administrator
// (group system:masters).
const AdminToken = "chartd-test-admin"

// Binaries are the programs Main needs.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// Main starts the control plane, runs the tests and stops it, returning the
// exit code for os.Exit. A control plane that cannot start fails the binary.
func Main(m *testing.M) int {
	if os.Getenv(EnvKubeconfig) != "" {
		return m.Run()
	}
	c, err := Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	defer c.Stop()
	if err := os.Setenv(EnvKubeconfig, c.Kubeconfig); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		return 1
	}
	return m.Run()
}

// BinDir finds the directory with the control-plane binaries, or says which
// make target builds them.
func BinDir() (string, error) {
	dir := os.Getenv(EnvBin)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "cluster")
	}
	var missing []string
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s missing from %s: run `make cluster` (part of `make tools`)", strings.Join(missing, ", "), dir)
	}
	return dir, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Cluster is a running control plane.
type Cluster struct {
	Dir        string // holds data, keys, logs and the kubeconfig
	Kubeconfig string
	Server     string // https://127.0.0.1:port
	// watchdog kills the processes and removes Dir when its stdin closes:
	// when Stop closes it, or when the test binary dies, so no control
	// plane outlives its tests.
	watchdog *exec.Cmd
	lifeline io.WriteCloser
	pids     []int
}

// Start runs etcd, kube-apiserver and kube-controller-manager and waits
// until the apiserver is ready and the controllers have made the default
// ServiceAccount.
func Start(ctx context.Context) (_ *Cluster, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kube-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := c.startWatchdog(); err != nil {
		return nil, err
	}
	for _, d := range []string{"pki", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := writeKeys(dir); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	// fsync off: test data only.
	etcd, err := c.run(filepath.Join(bin, "etcd"), "etcd",
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=test="+peerURL, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--quota-backend-bytes=1073741824")
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := c.waitFor(ctx, etcd, "etcd", 60*time.Second, func() bool { return get(plain, etcdURL+"/health", "") }); err != nil {
		return nil, err
	}

	c.Server = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	pki := filepath.Join(dir, "pki")
	api, err := c.run(filepath.Join(bin, "kube-apiserver"), "apiserver",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(ports[2]),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(pki, "serving"), "--etcd-servers="+etcdURL,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--token-auth-file="+filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(pki, "sa.key"))
	if err != nil {
		return nil, err
	}
	// The serving certificate is self-signed and appears only once the
	// apiserver has started; readiness is checked without verification,
	// then the kubeconfig pins the certificate.
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := c.waitFor(ctx, api, "apiserver", 120*time.Second, func() bool { return get(insecure, c.Server+"/readyz", AdminToken) }); err != nil {
		return nil, err
	}
	crt, err := os.ReadFile(filepath.Join(pki, "serving", "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(c.Server, crt, AdminToken)), 0o600); err != nil {
		return nil, err
	}

	kcm, err := c.run(filepath.Join(bin, "kube-controller-manager"), "kcm",
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file="+filepath.Join(pki, "sa.key"),
		"--root-ca-file="+filepath.Join(pki, "serving", "apiserver.crt"),
		"--use-service-account-credentials=false",
		"--flex-volume-plugin-dir="+filepath.Join(dir, "flexvolume"))
	if err != nil {
		return nil, err
	}
	cs, err := clientset(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	// The default ServiceAccount is made by the controllers: once it is
	// there, they run.
	if err := c.waitFor(ctx, kcm, "kcm", 120*time.Second, func() bool {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop kills the control plane and removes its directory.
func (c *Cluster) Stop() {
	if c.lifeline == nil {
		os.RemoveAll(c.Dir)
		return
	}
	c.lifeline.Close()
	_ = c.watchdog.Wait()
}

// startWatchdog starts a shell that, at EOF on its stdin, kills the pids
// written to Dir/pids and removes Dir. It runs in its own process group so
// a ^C that kills the tests does not kill it first.
func (c *Cluster) startWatchdog() error {
	q := shellQuote(c.Dir)
	script := "cat >/dev/null; [ -f " + q + "/pids ] && kill -9 $(cat " + q + "/pids) 2>/dev/null; rm -rf " + q
	c.watchdog = exec.Command("/bin/sh", "-c", script)
	c.watchdog.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if c.lifeline, err = c.watchdog.StdinPipe(); err != nil {
		return err
	}
	return c.watchdog.Start()
}

// run starts a control-plane process logging to Dir/logs/<name>.log.
func (c *Cluster) run(bin, name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(c.Dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.pids = append(c.pids, cmd.Process.Pid)
	var b strings.Builder
	for _, p := range c.pids {
		fmt.Fprintf(&b, "%d\n", p)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "pids"), []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait() }()
	return cmd, nil
}

// waitFor polls ready on a ticker until it holds, the process dies or the
// deadline passes; the error carries the tail of the process's log.
func (c *Cluster) waitFor(ctx context.Context, cmd *exec.Cmd, name string, limit time.Duration, ready func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		if cmd.ProcessState != nil || syscall.Kill(cmd.Process.Pid, 0) != nil {
			return fmt.Errorf("%s exited:\n%s", name, c.logTail(name))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s:\n%s", name, limit, c.logTail(name))
		case <-tick.C:
		}
	}
}

func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "logs", name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func get(hc *http.Client, url, token string) bool {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// writeKeys writes the ServiceAccount signing key pair and the static token
// file.
func writeKeys(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pki := filepath.Join(dir, "pki")
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(AdminToken + `,admin,admin-uid,"system:masters"` + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// KubeconfigFor writes a kubeconfig for server with a bearer token.
func kubeconfig(server string, ca []byte, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: user
  user:
    token: %s
contexts:
- name: test
  context: {cluster: test, user: user}
current-context: test
`, server, base64.StdEncoding.EncodeToString(ca), token)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func clientset(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Kubeconfig returns the path of the administrator's kubeconfig.
func Kubeconfig(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(EnvKubeconfig)
	if p == "" {
		tb.Fatal("cluster: no control plane; call os.Exit(cluster.Main(m)) from TestMain")
	}
	return p
}

// RESTConfig returns the administrator's client configuration.
func RESTConfig(tb testing.TB) *rest.Config {
	tb.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig(tb))
	if err != nil {
		tb.Fatalf("cluster: %v", err)
	}
	return cfg
}

// Clientset returns a typed client for the administrator.
func Clientset(tb testing.TB) *kubernetes.Clientset {
	tb.Helper()
	cs, err := kubernetes.NewForConfig(RESTConfig(tb))
	if err != nil {
		tb.Fatalf("cluster: %v", err)
	}
	return cs
}

// Namespace creates a fresh namespace for the test, deleted when it ends.
func Namespace(tb testing.TB) string {
	tb.Helper()
	return NamespaceNamed(tb, "t-"+randomHex(5))
}

// NamespaceNamed creates the namespace name (deleted when the test ends).
func NamespaceNamed(tb testing.TB, name string) string {
	tb.Helper()
	cs := Clientset(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("cluster: create namespace %s: %v", name, err)
	}
	tb.Cleanup(func() { DeleteNamespace(tb, name) })
	return name
}

// DeleteNamespace starts the deletion of a namespace (the controllers finish
// it); a namespace that is already gone is fine.
func DeleteNamespace(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Clientset(tb).CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		tb.Errorf("cluster: delete namespace %s: %v", name, err)
	}
}

// UniqueName returns prefix-<random>, for cluster-scoped objects a test
// creates.
func UniqueName(prefix string) string { return prefix + "-" + randomHex(4) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// KubeconfigWithToken writes a kubeconfig for the same server and CA with
// another bearer token (a ServiceAccount's, say) into dir.
func KubeconfigWithToken(tb testing.TB, dir, token string) string {
	tb.Helper()
	cfg := RESTConfig(tb)
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			tb.Fatal(err)
		}
	}
	p := filepath.Join(dir, "kubeconfig-"+randomHex(3))
	if err := os.WriteFile(p, []byte(kubeconfig(cfg.Host, ca, token)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
