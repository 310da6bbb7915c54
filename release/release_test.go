package release_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/release"
)

func roundTrip(t *testing.T, in string) (map[string]any, *release.Release) {
	t.Helper()
	var r release.Release
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, &r
}

func decodeMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// What Helm 4 writes (apply_method, rollback_revision, zero times omitted,
// fields of later versions) and what Helm 3 writes ("deleted":"") come back
// out unchanged.
func TestRoundTrip(t *testing.T) {
	for name, in := range map[string]string{
		"helm4": `{"name":"r","info":{"first_deployed":"2026-01-02T03:04:05.123456789Z","last_deployed":"2026-01-02T03:04:06Z","description":"Rollback to 2","status":"deployed","rollback_revision":2,"future_info":[1]},"chart":{"metadata":{"name":"c","version":"0.1.0"},"lock":null,"templates":null,"values":null,"schema":null,"files":null},"manifest":"---\n","version":3,"namespace":"ns","apply_method":"ssa","future_field":{"x":true}}`,
		"helm3": `{"name":"r","info":{"first_deployed":"2026-01-02T03:04:05Z","last_deployed":"2026-01-02T03:04:05Z","deleted":"","description":"Install complete","status":"deployed"},"chart":{"metadata":{"name":"c","version":"0.1.0"},"lock":null,"templates":[{"name":"templates/a.yaml","data":"YQ=="}],"values":{"a":1},"schema":null,"files":null},"config":{"x":"y"},"manifest":"---\n","hooks":[{"name":"h","kind":"Pod","path":"c/templates/h.yaml","manifest":"m","events":["test"],"last_run":{"started_at":"","completed_at":"","phase":""}}],"version":1,"namespace":"ns"}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := roundTrip(t, in)
			if diff := cmp.Diff(decodeMap(t, in), got); diff != "" {
				t.Errorf("round trip (-in +out):\n%s", diff)
			}
		})
	}
}

// A new revision derived from a Helm 4 one keeps Helm 4's time form for the
// rewritten old revision while new Info values use Helm 3's.
func TestNewInfoWritesHelm3Times(t *testing.T) {
	b, err := json.Marshal(&release.Info{Status: release.StatusDeployed})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"first_deployed":"","last_deployed":"","deleted":"","status":"deployed"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
