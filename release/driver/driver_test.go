package driver_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/release/driver"
)

func TestEncodeDecode(t *testing.T) {
	r := &release.Release{Name: "a", Namespace: "ns", Version: 2, ApplyMethod: "csa",
		Info: &release.Info{Status: release.StatusDeployed, RollbackRevision: 1}, Config: map[string]any{"k": "v"}}
	s, err := driver.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := driver.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || got.Version != 2 || got.ApplyMethod != "csa" || got.Info.RollbackRevision != 1 || got.Config["k"] != "v" {
		t.Errorf("decoded %+v", got)
	}
	// Helm also reads releases stored without gzip.
	plain := base64.StdEncoding.EncodeToString([]byte(`{"name":"p","version":1}`))
	if p, err := driver.Decode(plain); err != nil || p.Name != "p" {
		t.Errorf("uncompressed: %v %v", p, err)
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := &driver.Memory{}
	s := &release.Store{Driver: m}
	for ns, v := range map[string]int{"a": 1, "b": 1} {
		if err := s.Create(ctx, &release.Release{Name: "r", Namespace: ns, Version: v, Info: &release.Info{Status: release.StatusDeployed}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx, &release.Release{Name: "r", Namespace: "a", Version: 1, Info: &release.Info{}}); !errors.Is(err, release.ErrExists) {
		t.Errorf("duplicate create: %v", err)
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %d %v", len(all), err)
	}
	m.Namespace = "a"
	if h, err := s.History(ctx, "r"); err != nil || len(h) != 1 || h[0].Namespace != "a" {
		t.Errorf("history in a: %v %v", h, err)
	}
}

// FuzzDecode: arbitrary stored data is an error or a release, never a panic.
func FuzzDecode(f *testing.F) {
	good, _ := driver.Encode(&release.Release{Name: "x", Version: 1, Info: &release.Info{}})
	for _, s := range []string{good, "", "H4sI", base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0x08, 0, 0}), base64.StdEncoding.EncodeToString([]byte(`{"info":{"deleted":5}}`))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := driver.Decode(s)
		if err == nil && (r == nil || r.Info == nil) {
			t.Fatal("nil release or info without error")
		}
	})
}
