package provenance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/provenance"
)

// A server signs a chart with its key; a client verifies the provenance file
// with the published public key and notices tampering.
func Example() {
	ctx := context.Background()

	// The server's key file; in production it is read from disk or a
	// secret store (`gpg --export-secret-keys` output).
	entity, err := openpgp.NewEntity("Chart Signer", "", "signer@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		log.Fatal(err)
	}
	var keyFile bytes.Buffer
	if err := entity.SerializePrivateWithoutSigning(&keyFile, nil); err != nil {
		log.Fatal(err)
	}
	signer, err := provenance.LoadSigningKey(&keyFile, nil)
	if err != nil {
		log.Fatal(err)
	}

	archive := []byte("chart archive bytes")
	meta := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "mychart", Version: "0.1.0"}
	prov, err := signer.Sign(ctx, meta, "mychart-0.1.0.tgz", bytes.NewReader(archive))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(prov[:bytes.Index(prov, []byte("-----BEGIN PGP SIGNATURE-----"))]))

	// A client with the published key.
	pub, err := signer.PublicKeyArmored()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := provenance.ReadKeyring(bytes.NewReader(pub))
	if err != nil {
		log.Fatal(err)
	}
	v, err := provenance.Verify(ctx, keyring, prov, "mychart-0.1.0.tgz", bytes.NewReader(archive))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by:", v.SignedBy)
	fmt.Println("fingerprint matches:", v.Fingerprint == signer.Fingerprint())

	_, err = provenance.Verify(ctx, keyring, prov, "mychart-0.1.0.tgz", strings.NewReader("tampered"))
	fmt.Println("tampered archive rejected:", errors.Is(err, provenance.ErrDigestMismatch))
	// Output:
	// -----BEGIN PGP SIGNED MESSAGE-----
	// Hash: SHA512
	//
	// apiVersion: v2
	// name: mychart
	// version: 0.1.0
	//
	// ...
	// files:
	//   mychart-0.1.0.tgz: sha256:fd07449d593076f2dd0e4cdddabb3be74f08521a8c0fb2788842505abec2dd69
	//
	// signed by: Chart Signer <signer@example.com>
	// fingerprint matches: true
	// tampered archive rejected: true
}
