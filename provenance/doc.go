// Package provenance reads, writes and verifies Helm provenance files
// (<chart>-<version>.tgz.prov).
//
// A provenance file is an OpenPGP clearsigned message whose text is two YAML
// documents: the chart's Chart.yaml metadata, then a document listing the
// SHA-256 digest of the chart archive:
//
//	-----BEGIN PGP SIGNED MESSAGE-----
//	Hash: SHA512
//
//	apiVersion: v2
//	name: mychart
//	version: 0.1.0
//
//	...
//	files:
//	  mychart-0.1.0.tgz: sha256:<hex>
//	-----BEGIN PGP SIGNATURE-----
//	...
//
// The separator is the YAML document end marker "..." because a line "---"
// would be dash-escaped inside a clearsigned block. Files written by [Signer]
// are byte-for-byte what Helm 3's `helm package --sign` writes for the same
// metadata, archive and key (apart from the signature itself), and [Verify]
// accepts what Helm writes and rejects what `helm verify` rejects.
//
// The package does no I/O of its own: keyrings, archives and provenance files
// come in as readers or bytes, never as paths, so the server can keep them in
// any storage backend and the client can read them from disk or the network.
package provenance
