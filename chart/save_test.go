package chart

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// frobnitzDir prepares the frobnitz fixture with its archived subchart,
// packaged by real Helm.
func frobnitzDir(t *testing.T, home string) string {
	t.Helper()
	src := filepath.Join(home, "src", "frobnitz")
	copyDir(t, filepath.Join("testdata", "frobnitz"), src)
	sub2, err := filepath.Abs(filepath.Join("testdata", "sub2"))
	if err != nil {
		t.Fatal(err)
	}
	helm(t, home, "package", sub2, "-d", filepath.Join(src, "charts"))
	return src
}

// TestSaveMatchesHelmPackage is the ground truth for packaging: the same
// chart directory packaged by real Helm v3.22 and by Save must hold the same
// files with the same contents, and render the same.
func TestSaveMatchesHelmPackage(t *testing.T) {
	for _, fixture := range []string{"frobnitz", "oldchart"} {
		t.Run(fixture, func(t *testing.T) {
			home := t.TempDir()
			var src string
			if fixture == "frobnitz" {
				src = frobnitzDir(t, home)
			} else {
				src = filepath.Join(home, "src", fixture)
				copyDir(t, filepath.Join("testdata", fixture), src)
			}
			helm(t, home, "package", src, "-d", filepath.Join(home, "helm"))
			theirs := onlyFile(t, filepath.Join(home, "helm"))

			c, err := LoadDir(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Save(context.Background(), c, filepath.Join(home, "ours"))
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(ours) != filepath.Base(theirs) {
				t.Errorf("archive name = %s, Helm's = %s", filepath.Base(ours), filepath.Base(theirs))
			}
			if diff := cmp.Diff(untar(t, read(t, theirs)), untar(t, read(t, ours))); diff != "" {
				t.Errorf("archive contents differ from helm package (-helm +ours):\n%s", diff)
			}
			for _, args := range [][]string{
				{"template", "rel", "--include-crds"},
				{"show", "chart"},
				{"show", "values"},
			} {
				want := helm(t, home, append(args, theirs)...)
				got := helm(t, home, append(args, ours)...)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("helm %v differs (-helm's package +ours):\n%s", args, diff)
				}
			}
		})
	}
}

func TestSaveGolden(t *testing.T) {
	home := t.TempDir()
	c, err := LoadDir(context.Background(), frobnitzDir(t, home))
	if err != nil {
		t.Fatal(err)
	}
	// The checkout's mtimes vary; SOURCE_DATE_EPOCH's stamp does not.
	c.StampModTimes(time.Date(2024, 5, 6, 7, 8, 9, 500, time.FixedZone("X", 3600)))
	var a, b bytes.Buffer
	if err := Write(&a, c); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("Write is not reproducible")
	}
	// The listing (order, names, modes, sizes, mtimes) is the contract; the
	// compressed bytes depend on the Go release.
	listing := tarListing(t, a.Bytes())
	golden := filepath.Join("testdata", "frobnitz.listing.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(listing), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(string(read(t, golden)), listing); diff != "" {
		t.Errorf("listing differs from %s (-want +got):\n%s", golden, diff)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	home := t.TempDir()
	c, err := LoadDir(context.Background(), frobnitzDir(t, home))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	c2, err := ReadArchive(context.Background(), bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Metadata, c2.Metadata); diff != "" {
		t.Errorf("metadata changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(c.Values, c2.Values); diff != "" {
		t.Errorf("values changed:\n%s", diff)
	}
	if diff := cmp.Diff(c.Lock, c2.Lock); diff != "" {
		t.Errorf("lock changed:\n%s", diff)
	}
	if got, want := len(c2.Dependencies()), 2; got != want {
		t.Errorf("got %d subcharts, want %d", got, want)
	}
	var again bytes.Buffer
	if err := Write(&again, c2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("Write(ReadArchive(Write(c))) differs from Write(c)")
	}
}

func TestSaveErrors(t *testing.T) {
	valid := func() *Chart {
		return &Chart{Metadata: &Metadata{APIVersion: "v2", Name: "demo", Version: "1.0.0"}}
	}
	tests := []struct {
		name   string
		mutate func(c *Chart)
		want   error
	}{
		{"invalid metadata", func(c *Chart) { c.Metadata.Version = "x" }, ErrInvalidChart},
		{"no metadata", func(c *Chart) { c.Metadata = nil }, ErrInvalidChart},
		{"bad schema", func(c *Chart) { c.Schema = []byte("{") }, ErrInvalidChart},
		{"escaping file", func(c *Chart) { c.Files = []*File{{Name: "../x"}} }, ErrPathTraversal},
		{"duplicate", func(c *Chart) {
			c.Files = []*File{{Name: "a"}}
			c.Templates = []*File{{Name: "a"}}
		}, ErrInvalidChart},
		{"bad lock time", func(c *Chart) { c.Lock = &Lock{Generated: "yesterday"} }, ErrInvalidChart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(c)
			err := Write(&bytes.Buffer{}, c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Write() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func ExampleWrite() {
	c := &Chart{
		Metadata:  &Metadata{APIVersion: APIVersionV2, Name: "hello", Version: "0.1.0"},
		Templates: []*File{{Name: "templates/cm.yaml", Data: []byte("kind: ConfigMap\n")}},
		Values:    map[string]interface{}{"greeting": "hi"},
	}
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		fmt.Println(err)
		return
	}
	info, err := ReadArchiveMetadata(context.Background(), &buf, Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ArchiveName(info.Metadata), info.Templates, strings.TrimSpace(string(info.Values)))
	// Output: hello-0.1.0.tgz [templates/cm.yaml] greeting: hi
}

func onlyFile(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil || len(m) != 1 {
		t.Fatalf("want one archive in %s, got %v (%v)", dir, m, err)
	}
	return m[0]
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tarListing(t *testing.T, data []byte) string {
	t.Helper()
	files := untarHeaders(t, data)
	var sb strings.Builder
	for _, h := range files {
		fmt.Fprintf(&sb, "%s %o %d %s\n", h.Name, h.Mode, h.Size, h.ModTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return sb.String()
}
