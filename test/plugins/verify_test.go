package plugins

import (
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"
)

// writeKey writes a new signing key as a secret and a public keyring.
func writeKey(t *testing.T, dir, name string) (sec, pub string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", "signer@example.com", &packet.Config{
		Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA512,
	})
	if err != nil {
		t.Fatal(err)
	}
	sec, pub = filepath.Join(dir, name+"-sec.gpg"), filepath.Join(dir, name+"-pub.gpg")
	for p, write := range map[string]func(f *os.File) error{
		sec: func(f *os.File) error { return e.SerializePrivate(f, nil) },
		pub: func(f *os.File) error { return e.Serialize(f) },
	} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return sec, pub
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPluginVerificationLikeHelm4: a plugin archive signed by real Helm
// 4.3 (`helm plugin package --sign`) is verified against the keyring with
// the chart provenance code; a wrong key, a changed archive or, with
// --verify, a missing .prov refuse the install as Helm 4.3 refuses it.
// Without --verify an unsigned archive installs with a warning.
func TestPluginVerificationLikeHelm4(t *testing.T) {
	shared := t.TempDir()
	sec, pub := writeKey(t, shared, "Plugin Signer")
	_, otherPub := writeKey(t, shared, "Someone Else")
	writeFiles(t, shared, map[string]string{
		"src/signed/plugin.yaml": "name: signed\nversion: 0.4.0\ndescription: a signed plugin\ncommand: \"$HELM_PLUGIN_DIR/run.sh\"\n",
		"src/signed/run.sh":      dumpScript,
		"src/other/plugin.yaml":  "name: signed\nversion: 0.4.0\ndescription: not what was signed\n",
	})
	setup := newHome(t)
	setup.must(setup.helm4("plugin", "package", filepath.Join(shared, "src", "signed"), "--key", "Plugin Signer", "--keyring", sec, "-d", filepath.Join(shared, "pkg")))
	setup.must(setup.helm4("plugin", "package", filepath.Join(shared, "src", "other"), "--sign=false", "-d", filepath.Join(shared, "other")))
	signed := filepath.Join(shared, "pkg", "signed-0.4.0.tgz")
	// A different archive under the signed name, with the signed .prov.
	changed := filepath.Join(shared, "changed", "signed-0.4.0.tgz")
	copyFile(t, filepath.Join(shared, "other", "signed-0.4.0.tgz"), changed)
	copyFile(t, signed+".prov", changed+".prov")
	unsigned := filepath.Join(shared, "unsigned", "signed-0.4.0.tgz")
	copyFile(t, signed, unsigned)
	srv := serveArchives(t, map[string][]byte{"signed-0.4.0.tgz": mustRead(t, signed), "signed-0.4.0.tgz.prov": mustRead(t, signed+".prov")})

	for _, c := range []struct {
		name       string
		ours, helm []string
		ok         bool
	}{
		{"signed", []string{signed, "--keyring", pub}, nil, true},
		{"signed over http", []string{srv.URL + "/signed-0.4.0.tgz", "--keyring", pub}, nil, true},
		{"wrong key", []string{signed, "--keyring", otherPub}, nil, false},
		{"changed archive", []string{changed, "--keyring", pub}, nil, false},
		{"unsigned, --verify", []string{unsigned, "--keyring", pub, "--verify"}, []string{unsigned, "--keyring", pub}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.helm == nil {
				c.helm = c.ours
			}
			oh, hh := newHome(t), newHome(t)
			ours := normalize(oh.ours(append([]string{"plugin", "install"}, c.ours...)...), oh.dir)
			helm := normalize(hh.helm4(append([]string{"plugin", "install"}, c.helm...)...), hh.dir)
			if diff := cmp.Diff(helm.Stdout, ours.Stdout); diff != "" || ours.Code != helm.Code {
				t.Errorf("stdout (-helm 4.3 +ours):\n%s\nexit: helm %d, ours %d (%s)", diff, helm.Code, ours.Code, ours.Stderr)
			}
			_, err := os.Stat(filepath.Join(oh.plugins(), "signed", "plugin.yaml"))
			switch {
			case c.ok && (err != nil || !strings.Contains(ours.Stdout, "Plugin Hash Verified: sha256:")):
				t.Errorf("not installed, or not verified: %v\n%s", err, ours.Stdout)
			case !c.ok && (err == nil || !strings.HasPrefix(ours.Stderr, "Error: plugin verification failed: ") || !strings.HasPrefix(helm.Stderr, "Error: plugin verification failed: ")):
				t.Errorf("a failed verification: installed %v; ours %q, helm 4.3 %q", err == nil, ours.Stderr, helm.Stderr)
			}
		})
	}
	h := newHome(t)
	r := h.must(h.ours("plugin", "install", unsigned))
	if r.Stdout != "Installed plugin: signed\n" || !strings.HasPrefix(r.Stderr, "WARNING: no provenance file (.prov) found for ") {
		t.Errorf("unsigned without --verify: %+v", r)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
