package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/repo"
)

func TestFileRoundTripAndLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "helm", "repositories.yaml")
	f, err := repo.LoadFile(p)
	if !repo.IsNotExist(err) {
		t.Fatalf("LoadFile(missing) err = %v, want not-exist", err)
	}
	f.Update(&repo.Entry{Name: "a", URL: "http://a"})
	f.Update(&repo.Entry{Name: "b", URL: "http://b", Username: "u", Password: "p", PassCredentialsAll: true})
	f.Update(&repo.Entry{Name: "a", URL: "http://a2"})
	if err := f.WriteFile(p, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(p)
	// Helm's field names, so real Helm reads what we write.
	for _, want := range []string{"pass_credentials_all: true", "insecure_skip_tls_verify: false", "caFile: \"\"", "url: http://a2"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("repositories.yaml lacks %q:\n%s", want, b)
		}
	}
	g, err := repo.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.Repositories, g.Repositories); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !g.Remove("a") || g.Remove("a") || g.Has("a") || !g.Has("b") {
		t.Error("Remove/Has misbehave")
	}
	if got := repo.LockPath(p); got != strings.TrimSuffix(p, ".yaml")+".lock" {
		t.Errorf("LockPath = %q", got)
	}
	if got := repo.LockPath("/x/repos"); got != "/x/repos.lock" {
		t.Errorf("LockPath(no ext) = %q", got)
	}
}

// Concurrent adds under the lock must not lose entries.
func TestLockSerialisesWriters(t *testing.T) {
	p := filepath.Join(t.TempDir(), "repositories.yaml")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			unlock, err := repo.Lock(context.Background(), p)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			f, _ := repo.LoadFile(p)
			f.Update(&repo.Entry{Name: string(rune('a' + i)), URL: "http://x"})
			if err := f.WriteFile(p, 0o600); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f, err := repo.LoadFile(p)
	if err != nil || len(f.Repositories) != 8 {
		t.Fatalf("%d repositories after 8 locked writers (%v)", len(f.Repositories), err)
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("apiVersion: \"\"\nrepositories:\n- name: a\n  url: http://a\n"))
	f.Add([]byte("repositories: [null]"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "r.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rf, err := repo.LoadFile(p)
		if err != nil {
			return
		}
		// Operations on whatever loaded must not panic, and a written
		// file must load back with the same entries.
		rf.Has("a")
		rf.Remove("zz")
		rf.Update(&repo.Entry{Name: "n", URL: "u"})
		if err := rf.WriteFile(p, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := repo.LoadFile(p)
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		if len(again.Repositories) != len(rf.Repositories) {
			t.Fatalf("reload has %d entries, want %d", len(again.Repositories), len(rf.Repositories))
		}
	})
}

func TestResolveReferenceURL(t *testing.T) {
	for _, tt := range []struct{ base, ref, want string }{
		{"http://r.example/charts", "a-1.0.0.tgz", "http://r.example/charts/a-1.0.0.tgz"},
		{"http://r.example/charts/", "a-1.0.0.tgz", "http://r.example/charts/a-1.0.0.tgz"},
		{"http://r.example/charts?sig=x", "sub/a.tgz", "http://r.example/charts/sub/a.tgz?sig=x"},
		{"http://r.example/charts", "https://cdn/a.tgz", "https://cdn/a.tgz"},
		{"http://r.example/charts", "oci://reg/a:1.0.0", "oci://reg/a:1.0.0"},
		{"http://r.example/a/b", "/abs/a.tgz", "http://r.example/abs/a.tgz"},
	} {
		got, err := repo.ResolveReferenceURL(tt.base, tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("ResolveReferenceURL(%q, %q) = %q, %v; want %q", tt.base, tt.ref, got, err, tt.want)
		}
	}
}
