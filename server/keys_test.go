package server

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/provenance"
)

// signed returns a chart archive and its .prov signed by e.
func signed(t *testing.T, e *openpgp.Entity, name, version string) (tgz, prov []byte) {
	t.Helper()
	tgz = charttest.Chart(name, version, nil)
	s, err := provenance.NewSigner(openpgp.EntityList{e}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	md := &chart.Metadata{APIVersion: "v2", Name: name, Version: version, Description: "A test chart", AppVersion: "1.0"}
	prov, err = s.Sign(context.Background(), md, name+"-"+version+".tgz", bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	return tgz, prov
}

func armoredPublic(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String()
}

func (ts *testServer) uploadWithProv(t *testing.T, path string, tgz, prov []byte) resp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for field, data := range map[string][]byte{"chart": tgz, "prov": prov} {
		w, _ := mw.CreateFormFile(field, field)
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return ts.do(t, "POST", path, &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// A tenant's trusted keys come from the API: added, listed and removed
// keys change what verification accepts, in that tenant only.
func TestKeysAPIDrivesVerification(t *testing.T) {
	signer, err := openpgp.NewEntity("Team Release", "", "release@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *Config) {
		c.Depth = 1
		c.Tenants = map[string]TenantConfig{"secure": {SignaturePolicy: PolicyRequired}}
	})
	tgz, prov := signed(t, signer, "app", "1.0.0")
	if r := ts.uploadWithProv(t, "/api/secure/charts", tgz, prov); r.status != 400 || !strings.Contains(string(r.body), "verification failed") {
		t.Fatalf("unknown signer: %d %s", r.status, r.body)
	}
	// Other tenants keep the global default (off): unsigned is fine there.
	if r := ts.upload(t, "/api/open/charts", charttest.Chart("app", "1.0.0", nil)); r.status != 201 {
		t.Fatalf("tenant with the default policy: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "POST", "/api/secure/keys", strings.NewReader("not a key"), nil); r.status != 400 {
		t.Errorf("garbage key: %d", r.status)
	}
	secret := func() string {
		var buf bytes.Buffer
		w, _ := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
		_ = signer.SerializePrivate(w, nil)
		w.Close()
		return buf.String()
	}()
	if r := ts.do(t, "POST", "/api/secure/keys", strings.NewReader(secret), nil); r.status != 400 || !strings.Contains(string(r.body), "secret key") {
		t.Errorf("a secret key was accepted: %d %s", r.status, r.body)
	}
	r := ts.do(t, "POST", "/api/secure/keys", strings.NewReader(armoredPublic(t, signer)), nil)
	if r.status != 201 {
		t.Fatalf("add key: %d %s", r.status, r.body)
	}
	fp := provenance.Fingerprint(signer)
	var listed []map[string]string
	if err := json.Unmarshal(ts.do(t, "GET", "/api/secure/keys", nil, nil).body, &listed); err != nil || len(listed) != 1 || listed[0]["fingerprint"] != fp {
		t.Fatalf("list keys: %v %+v", err, listed)
	}
	if r := ts.uploadWithProv(t, "/api/secure/charts", tgz, prov); r.status != 201 {
		t.Fatalf("signed by a trusted key: %d %s", r.status, r.body)
	}
	var desc apiVersion
	_ = json.Unmarshal(ts.do(t, "GET", "/api/secure/charts/app/1.0.0", nil, nil).body, &desc)
	if desc.Provenance == nil || !desc.Provenance.Signed || desc.Provenance.Fingerprint != fp || !strings.Contains(desc.Provenance.Signer, "Team Release") {
		t.Errorf("provenance report: %+v", desc.Provenance)
	}
	if r := ts.do(t, "GET", "/secure/charts/app-1.0.0.tgz.prov", nil, nil); r.status != 200 || !bytes.Equal(r.body, prov) {
		t.Errorf(".prov download: %d", r.status)
	}
	if r := ts.do(t, "DELETE", "/api/secure/keys/"+fp, nil, nil); r.status != 200 {
		t.Fatalf("delete key: %d %s", r.status, r.body)
	}
	tgz2, prov2 := signed(t, signer, "app", "1.1.0")
	if r := ts.uploadWithProv(t, "/api/secure/charts", tgz2, prov2); r.status != 400 {
		t.Errorf("signed by a removed key: %d %s", r.status, r.body)
	}
	if r := ts.upload(t, "/api/secure/charts", charttest.Chart("plain", "1.0.0", nil)); r.status != 400 || !strings.Contains(string(r.body), "not signed") {
		t.Errorf("unsigned under required: %d %s", r.status, r.body)
	}
}
