package provenance

import (
	"bytes"
	"errors"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// provSeeds returns well-formed and damaged provenance files as fuzz seeds.
func provSeeds(t testing.TB, s *Signer, archive []byte) [][]byte {
	good := sign(t, s, archive)
	return [][]byte{
		good,
		good[:len(good)/2],
		good[:len(good)-1],
		bytes.Replace(good, []byte("version: 0.1.0"), []byte("version: 9"), 1),
		bytes.Replace(good, []byte("\n...\n"), []byte("\n---\n"), 1),
		[]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: x\n\n...\nfiles:\n  a: b\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQ\n-----END PGP SIGNATURE-----"),
		[]byte("name: x\n...\nfiles:\n  a: b\n"),
		{},
	}
}

// FuzzParseProv: ParseProv never panics, fails only with ErrMalformed, and
// what it accepts has a files list and metadata that parses.
func FuzzParseProv(f *testing.F) {
	s := signerFor(f, newKey(f, keyOpts{name: "Fuzz"}))
	for _, seed := range provSeeds(f, s, []byte("archive")) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, prov []byte) {
		md, files, err := ParseProv(prov)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseProv error %v is not ErrMalformed", err)
			}
			if md != nil || files != nil {
				t.Fatal("ParseProv returned data with an error")
			}
			return
		}
		if len(files) == 0 {
			t.Fatal("ParseProv accepted a file listing no archives")
		}
		if err := yaml.Unmarshal(md, &chart.Metadata{}); err != nil {
			t.Fatalf("ParseProv accepted metadata that does not parse: %v", err)
		}
	})
}

// FuzzVerify: Verify never panics, every failure is one of the documented
// verdicts, and a success means the signer and the digest are the real ones.
func FuzzVerify(f *testing.F) {
	e := newKey(f, keyOpts{name: "Fuzz", email: "fuzz@example.com"})
	s := signerFor(f, e)
	ring := readRing(f, publicRing(f, e))
	archive := []byte("the one true archive")
	digest, err := Digest(f.Context(), bytes.NewReader(archive))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range provSeeds(f, s, archive) {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, prov []byte, tamper bool) {
		a := archive
		if tamper {
			a = append([]byte("x"), archive...)
		}
		v, err := Verify(t.Context(), ring, prov, testArchiveName, bytes.NewReader(a))
		if err != nil {
			if v != nil {
				t.Fatal("Verify returned a result with an error")
			}
			for _, verdict := range verdicts() {
				if errors.Is(err, verdict) {
					return
				}
			}
			t.Fatalf("Verify error %v is none of the documented sentinels", err)
		}
		if tamper {
			t.Fatal("Verify accepted a tampered archive")
		}
		if v.FileHash != "sha256:"+digest || v.Fingerprint != Fingerprint(e) || v.SignedBy != Identity(e) {
			t.Fatalf("Verify accepted with %+v", v)
		}
		if _, files, err := ParseProv(prov); err != nil || files[testArchiveName] != v.FileHash {
			t.Fatalf("ParseProv disagrees with Verify: %v, %v", files, err)
		}
	})
}
