package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pki is a throwaway CA with a server and a client certificate, made in
// the test.
type pki struct {
	caPEM                 []byte
	serverCert, serverKey string
	client                tls.Certificate
	caFile                string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(cn string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	p := pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	sc, sk := issue("chartd", x509.ExtKeyUsageServerAuth)
	p.serverCert, p.serverKey, p.caFile = write("server.crt", sc), write("server.key", sk), write("ca.crt", p.caPEM)
	cc, ck := issue("ci-client", x509.ExtKeyUsageClientAuth)
	if p.client, err = tls.X509KeyPair(cc, ck); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMutualTLS runs chartd with ChartMuseum's --tls-cert/--tls-key/
// --tls-ca-cert: a client with a certificate from the CA is served, one
// without is refused during the handshake.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	cmd := exec.Command(bins.chartd, "--listen-host=127.0.0.1", "--port=0", "--data-dir="+t.TempDir(), "--log-json",
		"--tls-cert="+p.serverCert, "--tls-key="+p.serverKey, "--tls-ca-cert="+p.caFile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var addr string
	for addr == "" && sc.Scan() {
		var rec struct {
			Msg, Addr string
			TLS       bool
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "chartd listening" {
			if !rec.TLS {
				t.Fatal("listening without TLS")
			}
			addr = rec.Addr
		}
	}
	if addr == "" {
		t.Fatal("chartd exited before listening")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	get := func(certs []tls.Certificate) (*http.Response, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
		return c.Get("https://" + addr + "/health")
	}
	res, err := get([]tls.Certificate{p.client})
	if err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("health over mTLS: %d", res.StatusCode)
	}
	if res, err := get(nil); err == nil {
		res.Body.Close()
		t.Error("client without a certificate was served")
	}
}
