package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/provenance"
)

// depDownload is a dependency fetched for `dependency update|build`: the
// archive, where it came from, and with --verify its provenance (nil, with
// the reason in ProvErr, when the repository has none).
type depDownload struct {
	URL     string
	Data    []byte
	Prov    []byte
	ProvErr error
}

// verifyDependency checks a downloaded dependency, saved at archive,
// against its provenance and the keyring, as Helm's downloader does:
// update (Helm's VerifyAlways) fails without a .prov, build (Helm's
// VerifyIfPossible) warns and goes on; a signature that does not verify
// fails both. The .prov is saved next to the archive, as Helm saves it.
func (a *DependencyUpdate) verifyDependency(ctx context.Context, out io.Writer, dep *depDownload, archive string) error {
	if dep.Prov == nil {
		if !a.Build {
			return fmt.Errorf("failed to fetch provenance %q", dep.URL+".prov")
		}
		fmt.Fprintf(out, "WARNING: Verification not found for %s: %s\n", dep.URL, dep.ProvErr)
		return nil
	}
	if err := os.WriteFile(archive+".prov", dep.Prov, 0o644); err != nil {
		return err
	}
	_, err := verifyArchive(ctx, archive, dep.Prov, a.Keyring)
	return err
}

// skipMove reports whether a staged file is not a chart archive (a .prov),
// which Helm leaves behind when it moves the dependencies into charts/,
// saying so in its words (and without a newline, as Helm writes it).
func skipMove(out io.Writer, p string) bool {
	data, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	if err := chart.CheckArchiveFile(p, data); err != nil {
		fmt.Fprintf(out, "Could not verify %s for moving: %s (Skipping)", p, err)
		return true
	}
	return false
}

// helmWording is an error shown in Helm's words (scripts match on them),
// keeping the cause for errors.Is.
type helmWording struct {
	msg string
	err error
}

func (e *helmWording) Error() string { return e.msg }
func (e *helmWording) Unwrap() error { return e.err }

// provenanceError words a verification failure as Helm's provenance
// package does; other errors pass unchanged.
func provenanceError(err error, archiveName string) error {
	var de *provenance.DigestError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provenance.ErrUnknownSigner):
		// go-crypto's (and Helm's) text for openpgp.ErrUnknownIssuer.
		return &helmWording{"openpgp: signature made by unknown entity", err}
	case errors.As(err, &de):
		return &helmWording{fmt.Sprintf("sha256 sum does not match for %s: %q != %q", de.Name, de.Want, de.Got), err}
	case errors.Is(err, provenance.ErrArchiveNotListed):
		return &helmWording{fmt.Sprintf("provenance does not contain a SHA for a file named %q", archiveName), err}
	}
	return err
}
