package provenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	stderrors "errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/ctxio"
)

// Verification is the result of a successful [Verify].
type Verification struct {
	// SignedBy is the primary user ID of the signing key,
	// "Name (Comment) <email>".
	SignedBy string
	// Fingerprint is the signing key's primary key fingerprint in
	// upper-case hex without separators (40 digits for v4 keys, 64 for v6),
	// even when a subkey made the signature. GnuPG prints the same digits
	// (`gpg --with-colons --fingerprint`).
	Fingerprint string
	// SignedAt is the signature's creation time, as claimed by the signer.
	SignedAt time.Time
	// FileName is the archive name the digest was looked up under.
	FileName string
	// FileHash is the verified digest, "sha256:<lower-case hex>".
	FileHash string
	// Metadata is the Chart.yaml metadata from the signed text. Like Helm,
	// Verify does not compare it with the chart inside the archive; the
	// archive digest already pins the whole chart.
	Metadata *chart.Metadata
}

// sumCollection is the second YAML document of a provenance file. Images is
// declared in Helm's format but never written; it is parsed and ignored.
type sumCollection struct {
	Files  map[string]string `json:"files"`
	Images map[string]string `json:"images,omitempty"`
}

// messageSeparator ends the metadata document. "---" would be dash-escaped
// by clearsigning, so Helm uses the YAML end-of-document marker "...".
const messageSeparator = "\n...\n"

// Verify checks the provenance file prov for the chart archive read from
// archive, named archiveName (its base name is what the file lists, as
// Helm looks it up), against keyring. In order, it fails with:
//
//   - ErrMalformed when prov is not a complete clearsigned message;
//   - ErrUnknownSigner when no key in keyring made the signature;
//   - ErrBadSignature when the signed text was altered or the signature is
//     otherwise invalid;
//   - ErrKeyRevoked, ErrKeyExpired or ErrSignatureExpired when the
//     signature is valid but the key (or the signature) is no longer;
//   - ErrMalformed when the signed text is not Helm's two YAML documents;
//   - ErrArchiveNotListed when it lists no digest for archiveName;
//   - ErrDigestMismatch when the archive's SHA-256 differs.
//
// Text outside the clearsigned block is ignored: it is not signed, and
// nothing reads it.
func Verify(ctx context.Context, keyring openpgp.EntityList, prov []byte, archiveName string, archive io.Reader) (*Verification, error) {
	name, err := baseName(archiveName)
	if err != nil {
		return nil, err
	}
	if archive == nil {
		return nil, fmt.Errorf("%w: nil archive reader", ErrInvalidArgument)
	}
	block, sig, err := decode(prov)
	if err != nil {
		return nil, err
	}
	pktSig, signer, err := checkSignature(keyring, block, sig)
	if err != nil {
		return nil, err
	}
	meta, files, err := parseMessage(block.Plaintext)
	if err != nil {
		return nil, err
	}
	want, ok := files[name]
	if !ok {
		return nil, fmt.Errorf("%w: no digest for %q (the file lists %s)", ErrArchiveNotListed, name, listNames(files))
	}
	sum, err := Digest(ctx, archive)
	if err != nil {
		return nil, err
	}
	got := "sha256:" + sum
	if want != got {
		return nil, &DigestError{Name: name, Got: got, Want: want}
	}
	return &Verification{
		SignedBy:    Identity(signer),
		Fingerprint: Fingerprint(signer),
		SignedAt:    pktSig.CreationTime,
		FileName:    name,
		FileHash:    got,
		Metadata:    meta,
	}, nil
}

// ParseProv returns the two documents of a provenance file: the Chart.yaml
// metadata as YAML text (what Helm signed), and the archive digests by
// archive name ("sha256:<hex>"). It does NOT check the signature; use
// [Verify] before trusting anything it returns.
func ParseProv(prov []byte) (metadata []byte, files map[string]string, err error) {
	block, _, err := decode(prov)
	if err != nil {
		return nil, nil, err
	}
	raw, _, _ := bytes.Cut(block.Plaintext, []byte(messageSeparator))
	if _, files, err = parseMessage(block.Plaintext); err != nil {
		return nil, nil, err
	}
	return bytes.Clone(raw), files, nil
}

// Digest returns the lower-case hex SHA-256 of everything read from archive,
// the digest Helm lists in provenance files and index.yaml. It stops early
// when ctx is done.
func Digest(ctx context.Context, archive io.Reader) (string, error) {
	if archive == nil {
		return "", fmt.Errorf("%w: nil archive reader", ErrInvalidArgument)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxio.Reader(ctx, archive)); err != nil {
		return "", fmt.Errorf("provenance: reading archive: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// messageBlock builds the signed text exactly as Helm does: the marshalled
// metadata (which ends in a newline), then "\n...\n", then the files
// document. sigs.k8s.io/yaml goes through the JSON tags, which match Helm's,
// and sorts keys, so equal metadata gives equal text.
func messageBlock(meta *chart.Metadata, name, sum string) ([]byte, error) {
	md, err := yaml.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("provenance: marshalling metadata: %w", err)
	}
	files, err := yaml.Marshal(sumCollection{Files: map[string]string{name: "sha256:" + sum}})
	if err != nil {
		return nil, fmt.Errorf("provenance: marshalling digests: %w", err)
	}
	var b bytes.Buffer
	b.Write(md)
	b.WriteString(messageSeparator)
	b.Write(files)
	return b.Bytes(), nil
}

// decode splits prov into the clearsigned block and the binary signature.
// Buffering the signature here means armor damage (a truncated or corrupted
// base64 body, a bad checksum) is reported as ErrMalformed rather than as a
// bad signature.
func decode(prov []byte) (*clearsign.Block, []byte, error) {
	if len(bytes.TrimSpace(prov)) == 0 {
		return nil, nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	block, _ := clearsign.Decode(prov)
	if block == nil {
		if !bytes.Contains(prov, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
			return nil, nil, fmt.Errorf("%w: not an OpenPGP clearsigned message", ErrMalformed)
		}
		return nil, nil, fmt.Errorf("%w: incomplete clearsigned message (truncated, or a bad header or signature block)", ErrMalformed)
	}
	if block.ArmoredSignature.Type != openpgp.SignatureType {
		return nil, nil, fmt.Errorf("%w: the signature block is a %q", ErrMalformed, block.ArmoredSignature.Type)
	}
	sig, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: corrupt signature block: %w", ErrMalformed, err)
	}
	if len(sig) == 0 {
		return nil, nil, fmt.Errorf("%w: empty signature block", ErrMalformed)
	}
	return block, sig, nil
}

// checkSignature verifies the detached signature over the block's canonical
// text, as Helm does, and turns go-crypto's errors into this package's.
// go-crypto checks the math first and only then the key's state, so an
// expired or revoked key is only reported for a signature it really made.
func checkSignature(keyring openpgp.EntityList, block *clearsign.Block, sig []byte) (*packet.Signature, *openpgp.Entity, error) {
	issuer, err := issuerOf(sig)
	if err != nil {
		return nil, nil, err
	}
	pktSig, signer, err := openpgp.VerifyDetachedSignature(keyring, bytes.NewReader(block.Bytes), bytes.NewReader(sig), &packet.Config{})
	if err == nil {
		if pktSig == nil || signer == nil {
			// Defensive: go-crypto always returns both on success.
			return nil, nil, fmt.Errorf("%w: verifier returned no signer", ErrBadSignature)
		}
		return pktSig, signer, nil
	}
	var (
		structural  pgperrors.StructuralError
		unsupported pgperrors.UnsupportedError
		weak        pgperrors.WeakAlgorithmError
	)
	switch {
	case stderrors.Is(err, pgperrors.ErrUnknownIssuer):
		return nil, nil, fmt.Errorf("%w: no key in the keyring can have made this signature (%s)", ErrUnknownSigner, issuer)
	case stderrors.Is(err, pgperrors.ErrKeyRevoked):
		return nil, nil, keyStateError(ErrKeyRevoked, signer)
	case stderrors.Is(err, pgperrors.ErrKeyExpired):
		return nil, nil, keyStateError(ErrKeyExpired, signer)
	case stderrors.Is(err, pgperrors.ErrSignatureExpired):
		return nil, nil, fmt.Errorf("%w: signature by %s has expired, is dated in the future, or a binding signature of the key has expired", ErrSignatureExpired, describe(signer))
	case stderrors.As(err, &weak), stderrors.As(err, &unsupported):
		return nil, nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	case stderrors.As(err, &structural), stderrors.Is(err, io.ErrUnexpectedEOF), stderrors.Is(err, io.EOF):
		return nil, nil, fmt.Errorf("%w: unreadable signature packet: %w", ErrMalformed, err)
	default:
		// pgperrors.SignatureError and anything else go-crypto may add:
		// a signature that does not check out is bad, whatever the reason.
		return nil, nil, fmt.Errorf("%w: signature (%s) does not match the signed text: %w", ErrBadSignature, issuer, err)
	}
}

// keyStateError explains a revoked or expired signer. go-crypto says only
// which; checkUsable says why and since when, for the primary key. If the
// primary key is fine, the signing subkey is what failed.
func keyStateError(sentinel error, signer *openpgp.Entity) error {
	if signer != nil {
		if detail := checkUsable(signer, time.Now()); stderrors.Is(detail, sentinel) {
			return fmt.Errorf("the signature is genuine but no longer trusted: %w", detail)
		}
	}
	return fmt.Errorf("%w: the signing subkey of %s", sentinel, describe(signer))
}

// issuerOf names the key the first signature packet claims to come from,
// for messages. It also rejects what go-crypto would silently skip and then
// report as an unknown signer: no signature packet it can read (unsupported
// version or algorithm, or not a signature at all).
func issuerOf(sig []byte) (string, error) {
	p, err := packet.NewReader(bytes.NewReader(sig)).Next()
	if err != nil {
		if stderrors.Is(err, io.EOF) {
			return "", fmt.Errorf("%w: no readable signature packet (unsupported version or algorithm?)", ErrMalformed)
		}
		return "", fmt.Errorf("%w: unreadable signature packet: %w", ErrMalformed, err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "", fmt.Errorf("%w: the signature block holds a %T, not a signature", ErrMalformed, p)
	}
	switch {
	case len(s.IssuerFingerprint) > 0:
		return "issuer fingerprint " + strings.ToUpper(hex.EncodeToString(s.IssuerFingerprint)), nil
	case s.IssuerKeyId != nil:
		return fmt.Sprintf("issuer key ID %016X", *s.IssuerKeyId), nil
	default:
		return "", fmt.Errorf("%w: the signature names no issuer key", ErrMalformed)
	}
}

// parseMessage reads the signed text as Helm does: metadata up to the first
// "\n...\n", digests after it. A provenance file without a files document
// or without any listed file is rejected rather than verified as "nothing".
func parseMessage(text []byte) (*chart.Metadata, map[string]string, error) {
	md, rest, ok := bytes.Cut(text, []byte(messageSeparator))
	if !ok {
		return nil, nil, fmt.Errorf("%w: the signed text has no %q line between the metadata and the file digests", ErrMalformed, "...")
	}
	meta := &chart.Metadata{}
	if err := yaml.Unmarshal(md, meta); err != nil {
		return nil, nil, fmt.Errorf("%w: chart metadata: %w", ErrMalformed, err)
	}
	var sums sumCollection
	if err := yaml.Unmarshal(rest, &sums); err != nil {
		return nil, nil, fmt.Errorf("%w: file digests: %w", ErrMalformed, err)
	}
	if len(sums.Files) == 0 {
		return nil, nil, fmt.Errorf("%w: no files listed", ErrMalformed)
	}
	return meta, sums.Files, nil
}

// baseName reduces an archive name to what provenance files list: Helm
// keys digests by the archive's base name.
func baseName(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%w: empty archive name", ErrInvalidArgument)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", fmt.Errorf("%w: archive name %q has control characters", ErrInvalidArgument, name)
	}
	base := path.Base(name)
	if base == "." || base == "/" || base == ".." {
		return "", fmt.Errorf("%w: archive name %q has no file name", ErrInvalidArgument, name)
	}
	return base, nil
}

func listNames(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, fmt.Sprintf("%q", n))
	}
	slices.Sort(names)
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	return strings.Join(names, ", ")
}
