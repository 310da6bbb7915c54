package chart

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	home := t.TempDir()
	c, err := LoadDir(context.Background(), frobnitzDir(t, home))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(home, "out")
	if err := Expand(context.Background(), dst, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDir(context.Background(), filepath.Join(dst, "frobnitz"))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := Write(&again, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(untar(t, buf.Bytes()), untar(t, again.Bytes())); diff != "" {
		t.Errorf("expand + load + write changed the chart (-before +after):\n%s", diff)
	}
}

func TestExpandRejects(t *testing.T) {
	dst := t.TempDir()
	// A directory that is a symlink out of dst must not be followed.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "demo")); err != nil {
		t.Fatal(err)
	}
	archive := tgz(t, entry{Name: "demo/Chart.yaml", Body: minimalChartYaml})
	if err := Expand(context.Background(), dst, bytes.NewReader(archive)); err == nil {
		t.Error("Expand wrote through a symlink leaving the destination")
	}
	if _, err := os.Stat(filepath.Join(outside, "Chart.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file written outside the destination: %v", err)
	}
	bad := tgz(t, entry{Name: "demo/Chart.yaml", Body: minimalChartYaml}, entry{Name: "demo/../../x"})
	if err := Expand(context.Background(), t.TempDir(), bytes.NewReader(bad)); !errors.Is(err, ErrPathTraversal) {
		t.Errorf("Expand(traversal) = %v", err)
	}
	noName := tgz(t, entry{Name: "demo/Chart.yaml", Body: "version: 1.0.0\n"})
	if err := Expand(context.Background(), t.TempDir(), bytes.NewReader(noName)); !errors.Is(err, ErrInvalidChart) {
		t.Errorf("Expand(no name) = %v", err)
	}
}
