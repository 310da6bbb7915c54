package server

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// handleKeys is chartd's API for a tenant's trusted signing keys:
//
//	GET    /api/<repo>/keys                list (pull permission)
//	POST   /api/<repo>/keys                add an armored public key (push)
//	DELETE /api/<repo>/keys/<fingerprint>  remove (push)
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request, rt Route) {
	ks, ok := s.meta.(storage.Keys)
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotImplemented, "this database does not store keys"))
		return
	}
	ctx := r.Context()
	switch {
	case rt.Kind == KindAPIKeys && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		out := []map[string]string{}
		t, err := s.meta.Tenant(ctx, rt.Repo)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.writeError(w, r, err)
			return
		}
		if err == nil {
			keys, err := ks.Keys(ctx, t.ID)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			for _, k := range keys {
				out = append(out, map[string]string{"fingerprint": k.Fingerprint, "key": k.Armored})
			}
		}
		writeJSON(w, http.StatusOK, out)
	case rt.Kind == KindAPIKeys && r.Method == http.MethodPost:
		b, err := readCapped(http.MaxBytesReader(w, r.Body, maxProvSize), maxProvSize)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ring, err := provenance.ReadKeyring(strings.NewReader(string(b)))
		if err != nil || len(ring) == 0 {
			s.writeError(w, r, errorf(http.StatusBadRequest, "not an OpenPGP public key"))
			return
		}
		for _, e := range ring {
			if e.PrivateKey != nil {
				// Refuse rather than store a secret key by accident.
				s.writeError(w, r, errorf(http.StatusBadRequest, "that is a secret key: send the public key only"))
				return
			}
		}
		t, err := s.meta.EnsureTenant(ctx, rt.Repo)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var added []string
		for _, e := range ring {
			var buf bytes.Buffer
			aw, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
			if err == nil {
				err = e.Serialize(aw)
			}
			if err == nil {
				err = aw.Close()
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			fp := provenance.Fingerprint(e)
			noteKeys(ctx, fp)
			k := storage.Key{TenantID: t.ID, Fingerprint: fp, Armored: buf.String()}
			if err := ks.AddKey(ctx, k); err != nil && !errors.Is(err, storage.ErrExists) {
				s.writeError(w, r, err)
				return
			}
			added = append(added, fp)
		}
		writeJSON(w, http.StatusCreated, map[string][]string{"added": added})
	case rt.Kind == KindAPIKey && r.Method == http.MethodDelete:
		t, err := s.meta.Tenant(ctx, rt.Repo)
		if err == nil {
			err = ks.DeleteKey(ctx, t.ID, strings.ToUpper(rt.File))
		}
		if errors.Is(err, storage.ErrNotFound) {
			err = withStatus(http.StatusNotFound, "key not found", err)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}
