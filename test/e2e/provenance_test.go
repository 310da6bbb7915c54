package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// gpgKey makes an RSA key with real GnuPG in its own home and exports
// binary keyrings, as GnuPG ≥ 2.1 users do for Helm.
type gpgKey struct {
	name, home, pubring, secring, passphrase string
}

func newGPGKey(t *testing.T, name, passphrase string) gpgKey {
	t.Helper()
	dir := t.TempDir()
	k := gpgKey{name: name, home: filepath.Join(dir, "gnupg"), pubring: filepath.Join(dir, "pubring.gpg"),
		secring: filepath.Join(dir, "secring.gpg"), passphrase: passphrase}
	if err := os.Mkdir(k.home, 0o700); err != nil {
		t.Fatal(err)
	}
	protect := "%no-protection"
	if passphrase != "" {
		protect = "Passphrase: " + passphrase
	}
	params := fmt.Sprintf("Key-Type: RSA\nKey-Length: 2048\nName-Real: %s\nName-Email: %s@example.com\nExpire-Date: 0\n%s\n%%commit\n",
		name, strings.ToLower(name), protect)
	k.gpg(t, strings.NewReader(params), "--gen-key")
	k.export(t, k.pubring, "--export")
	k.export(t, k.secring, "--export-secret-keys")
	return k
}

func (k gpgKey) gpg(t *testing.T, stdin *strings.Reader, args ...string) []byte {
	t.Helper()
	all := append([]string{"--homedir", k.home, "--batch", "--pinentry-mode", "loopback", "--passphrase", k.passphrase}, args...)
	cmd := exec.Command("gpg", all...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

func (k gpgKey) export(t *testing.T, path string, args ...string) {
	t.Helper()
	if err := os.WriteFile(path, k.gpg(t, nil, append(args, k.name)...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// signedPackage packages a chart with real `helm package --sign`.
func signedPackage(t *testing.T, h *helmEnv, k gpgKey, name, version string) (tgz, prov []byte) {
	t.Helper()
	src := t.TempDir()
	if err := expand(src, charttest.Chart(name, version, nil)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"package", "--sign", "--key", k.name, "--keyring", k.secring, "-d", out, filepath.Join(src, name)}
	if k.passphrase != "" {
		pf := filepath.Join(t.TempDir(), "pass")
		if err := os.WriteFile(pf, []byte(k.passphrase), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--passphrase-file", pf)
	}
	h.run(t, peers.Path(t, "helm"), args...)
	base := filepath.Join(out, name+"-"+version+".tgz")
	tgz, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	prov, err = os.ReadFile(base + ".prov")
	if err != nil {
		t.Fatal(err)
	}
	return tgz, prov
}

// expand unpacks a test archive into dir with tar(1).
func expand(dir string, tgz []byte) error {
	cmd := exec.Command("tar", "-xz", "-C", dir)
	cmd.Stdin = bytes.NewReader(tgz)
	return cmd.Run()
}

func uploadSigned(t *testing.T, url string, tgz, prov []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for field, data := range map[string][]byte{"chart": tgz, "prov": prov} {
		if data == nil {
			continue
		}
		w, _ := mw.CreateFormFile(field, field)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return httpDo(t, "POST", url, &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// TestSignaturePolicyRequired: chartd verifies .prov files against the
// tenant's keys, refuses unsigned or badly signed charts through both
// protocols, and real helm verifies what it serves.
func TestSignaturePolicyRequired(t *testing.T) {
	helm := peers.Path(t, "helm")
	alice := newGPGKey(t, "Alice Release", "")
	mallory := newGPGKey(t, "Mallory", "")
	srv := startChartd(t, t.TempDir(), "--signature-policy=required", "--keyring="+alice.pubring)
	h := newHelmEnv(t)

	tgz, prov := signedPackage(t, h, alice, "signed", "1.0.0")
	if code, b := uploadSigned(t, srv.URL+"/api/charts", tgz, nil); code != 400 || !strings.Contains(string(b), "not signed") {
		t.Errorf("unsigned upload: %d %s", code, b)
	}
	badTgz, badProv := signedPackage(t, h, mallory, "signed", "1.0.0")
	if code, b := uploadSigned(t, srv.URL+"/api/charts", badTgz, badProv); code != 400 || !strings.Contains(string(b), "verification failed") {
		t.Errorf("wrong key: %d %s", code, b)
	}
	tampered := append([]byte{}, prov...)
	tampered = bytes.Replace(tampered, []byte("sha256:"), []byte("sha256:00"), 1)
	if code, b := uploadSigned(t, srv.URL+"/api/charts", tgz, tampered); code != 400 {
		t.Errorf("tampered prov: %d %s", code, b)
	}
	if idx := getIndex(t, srv.URL+"/index.yaml"); len(idx.Entries) != 0 {
		t.Fatalf("a refused chart was stored: %+v", idx.Entries)
	}
	if code, b := uploadSigned(t, srv.URL+"/api/charts", tgz, prov); code != 201 {
		t.Fatalf("signed upload: %d %s", code, b)
	}
	_, b := httpDo(t, "GET", srv.URL+"/api/charts/signed/1.0.0", nil, nil)
	var desc struct {
		Provenance struct {
			Signed       bool
			Signer       string
			ServerSigned bool
		}
	}
	if err := json.Unmarshal(b, &desc); err != nil || !desc.Provenance.Signed || !strings.Contains(desc.Provenance.Signer, "Alice Release") || desc.Provenance.ServerSigned {
		t.Errorf("provenance report: %s", b)
	}
	h.run(t, helm, "repo", "add", "r", srv.URL)
	h.run(t, helm, "pull", "r/signed", "--version", "1.0.0", "--verify", "--keyring", alice.pubring, "-d", t.TempDir())
	if _, _, err := h.try(helm, "pull", "r/signed", "--version", "1.0.0", "--verify", "--keyring", mallory.pubring, "-d", t.TempDir()); err == nil {
		t.Error("real helm verified with the wrong key")
	}

	// OCI: the prov layer is verified the same way.
	host := hostOf(srv.URL)
	dir := t.TempDir()
	otgz, oprov := signedPackage(t, h, alice, "ocisigned", "2.0.0")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkg := write("ocisigned-2.0.0.tgz", otgz)
	write("ocisigned-2.0.0.tgz.prov", oprov)
	h.run(t, helm, "push", pkg, "oci://"+host, "--plain-http")
	unsigned := write("plain-1.0.0.tgz", charttest.Chart("plain", "1.0.0", nil))
	if _, _, err := h.try(helm, "push", unsigned, "oci://"+host, "--plain-http"); err == nil {
		t.Error("unsigned OCI push accepted under policy required")
	}
	h.run(t, helm, "pull", "oci://"+host+"/ocisigned", "--version", "2.0.0", "--plain-http", "--verify", "--keyring", alice.pubring, "-d", t.TempDir())
}

// TestServerSigning: chartd signs unsigned charts with its own key; real
// helm verifies them with the key chartd publishes.
func TestServerSigning(t *testing.T) {
	helm := peers.Path(t, "helm")
	key := newGPGKey(t, "chartd signer", "sesame")
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("sesame\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startChartd(t, t.TempDir(), "--signing-key="+key.secring, "--signing-passphrase-file="+pass)
	if code, b := httpDo(t, "POST", srv.URL+"/api/charts", bytes.NewReader(charttest.Chart("auto", "0.1.0", nil)), nil); code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	idx := getIndex(t, srv.URL+"/index.yaml")
	if len(idx.PublicKeys) != 1 || !strings.Contains(idx.PublicKeys[0], "BEGIN PGP PUBLIC KEY BLOCK") {
		t.Errorf("publicKeys: %v", idx.PublicKeys)
	}
	code, asc := httpDo(t, "GET", srv.URL+"/signing-key.asc", nil, nil)
	if code != 200 || bytes.Contains(asc, []byte("PRIVATE")) {
		t.Fatalf("published key: %d", code)
	}
	_, b := httpDo(t, "GET", srv.URL+"/api/charts/auto/0.1.0", nil, nil)
	if !strings.Contains(string(b), `"serverSigned":true`) {
		t.Errorf("describe: %s", b)
	}
	// A client imports the published key into a binary keyring.
	dearmor := exec.Command("gpg", "--dearmor")
	dearmor.Stdin = bytes.NewReader(asc)
	pub, err := dearmor.Output()
	if err != nil {
		t.Fatal(err)
	}
	ring := filepath.Join(t.TempDir(), "chartd.gpg")
	if err := os.WriteFile(ring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHelmEnv(t)
	h.run(t, helm, "repo", "add", "s", srv.URL)
	h.run(t, helm, "pull", "s/auto", "--version", "0.1.0", "--verify", "--keyring", ring, "-d", t.TempDir())
	// The OCI face carries the server's .prov as its provenance layer.
	h.run(t, helm, "pull", "oci://"+hostOf(srv.URL)+"/auto", "--version", "0.1.0", "--plain-http", "--verify", "--keyring", ring, "-d", t.TempDir())

	// A secret key file others can read is refused at start.
	loose := filepath.Join(t.TempDir(), "loose.gpg")
	sec, _ := os.ReadFile(key.secring)
	if err := os.WriteFile(loose, sec, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bins.chartd, "--listen-host=127.0.0.1", "--port=0", "--data-dir="+t.TempDir(),
		"--signing-key="+loose, "--signing-passphrase-file="+pass).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "readable by others") {
		t.Errorf("world-readable signing key accepted: %v %s", err, out)
	}
	if bytes.Contains(out, sec[:32]) {
		t.Error("secret key material in output")
	}
}
