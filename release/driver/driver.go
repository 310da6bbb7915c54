// Package driver stores release revisions where Helm does: in Secrets
// (the default), ConfigMaps, or memory, in Helm's exact format, so Helm 3
// and Helm 4 read what this client writes and the other way round:
//
//   - one object per revision, named sh.helm.release.v1.<name>.v<revision>,
//     in the release's namespace;
//   - data "release" = base64(gzip(JSON of the release));
//   - Secrets of type helm.sh/release.v1;
//   - labels name, owner=helm, status, version, plus createdAt (on create)
//     or modifiedAt (on update), plus the user's --labels.
package driver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/chartd/chartd/release"
)

// Owner is the value of the owner label.
const Owner = "helm"

// SecretType is the type of the Secrets holding revisions.
const SecretType = "helm.sh/release.v1"

// systemLabels are the labels the drivers own; the rest are the user's.
var systemLabels = map[string]bool{"name": true, "owner": true, "status": true, "version": true, "createdAt": true, "modifiedAt": true}

// IsSystemLabel reports whether the drivers own the label key.
func IsSystemLabel(k string) bool { return systemLabels[k] }

// gzipMagic starts every gzip stream; Helm 2-era data may lack it.
var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// Encode turns a release into the data Helm stores: base64(gzip(json)).
func Encode(r *release.Release) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// maxDecoded bounds a decompressed release (a release Secret is at most
// 1 MiB, so this leaves room for any real chart).
const maxDecoded = 64 << 20

// Decode reads what Encode writes (and uncompressed JSON, as Helm does).
func Decode(data string) (*release.Release, error) {
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("decode release: %w", err)
	}
	if bytes.HasPrefix(b, gzipMagic) {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode release: %w", err)
		}
		defer r.Close()
		if b, err = io.ReadAll(io.LimitReader(r, maxDecoded+1)); err != nil {
			return nil, fmt.Errorf("decode release: %w", err)
		}
		if len(b) > maxDecoded {
			return nil, fmt.Errorf("decode release: more than %d bytes", maxDecoded)
		}
	}
	var rel release.Release
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("decode release: %w", err)
	}
	// A record without info (hand-made or damaged) reads as unknown rather
	// than making every command that prints it fail.
	if rel.Info == nil {
		rel.Info = &release.Info{Status: release.StatusUnknown}
	}
	return &rel, nil
}

// labelsFor builds the labels of a revision's object; stamp is "createdAt"
// or "modifiedAt".
func labelsFor(r *release.Release, stamp string, now time.Time) map[string]string {
	l := map[string]string{}
	for k, v := range r.Labels {
		l[k] = v
	}
	l[stamp] = strconv.FormatInt(now.Unix(), 10)
	l["name"] = r.Name
	l["owner"] = Owner
	status := release.StatusUnknown
	if r.Info != nil && r.Info.Status != "" {
		status = r.Info.Status
	}
	l["status"] = string(status)
	l["version"] = strconv.Itoa(r.Version)
	return l
}

// userLabels are the labels minus the system ones.
func userLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !systemLabels[k] {
			out[k] = v
		}
	}
	return out
}
