package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bomb is a gzip stream of a tar holding one file of n zero bytes: a few
// hundred KiB that decompress to n.
func bomb(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range []struct {
		name string
		size int64
	}{{"demo/Chart.yaml", int64(len(minimalChartYaml))}, {"demo/zeros", n}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: e.size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		var src io.Reader = io.LimitReader(zeros{}, e.size)
		if e.name == "demo/Chart.yaml" {
			src = strings.NewReader(minimalChartYaml)
		}
		if _, err := io.Copy(tw, src); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadArchiveRejects(t *testing.T) {
	chart := entry{Name: "demo/Chart.yaml", Body: minimalChartYaml}
	nested := tgz(t, entry{Name: "inner/Chart.yaml", Body: "apiVersion: v2\nname: inner\nversion: nope\n"})
	tests := []struct {
		name    string
		archive []byte
		lim     Limits
		want    error
		msg     string
	}{
		{"not gzip", []byte("apiVersion: v2\nname: x\n"), Limits{}, ErrBadArchive, "not gzip-compressed"},
		{"empty input", nil, Limits{}, ErrBadArchive, "not gzip-compressed"},
		{"truncated gzip", tgz(t, chart)[:20], Limits{}, ErrBadArchive, "not a valid"},
		{"gzip but not tar", gz(t, strings.Repeat("hello world\n", 100)), Limits{}, ErrBadArchive, "not a valid tar.gz"},
		{"empty tar", tgz(t), Limits{}, ErrNoChartYaml, "no files in chart archive"},
		{"no Chart.yaml", tgz(t, entry{Name: "demo/values.yaml", Body: "a: 1\n"}), Limits{}, ErrNoChartYaml, "Chart.yaml file is missing"},
		{"Chart.yaml at top level", tgz(t, entry{Name: "Chart.yaml", Body: minimalChartYaml}), Limits{}, ErrBadArchive, "chart yaml not in base directory"},
		{"file at top level", tgz(t, chart, entry{Name: "README"}), Limits{}, ErrPathTraversal, "outside the chart directory"},
		{"parent traversal", tgz(t, chart, entry{Name: "../x", Body: "x"}), Limits{}, ErrPathTraversal, "parent directory"},
		{"inner traversal", tgz(t, chart, entry{Name: "demo/templates/../../../etc/passwd"}), Limits{}, ErrPathTraversal, "parent directory"},
		{"backslash traversal", tgz(t, chart, entry{Name: `demo\..\..\x`}), Limits{}, ErrPathTraversal, "parent directory"},
		{"absolute path", tgz(t, chart, entry{Name: "/etc/passwd", Body: "root"}), Limits{}, ErrPathTraversal, "absolute path"},
		{"drive path", tgz(t, chart, entry{Name: "c:/windows/x"}), Limits{}, ErrPathTraversal, "absolute path"},
		{"dot top", tgz(t, entry{Name: "./Chart.yaml", Body: minimalChartYaml}), Limits{}, ErrBadArchive, "not inside a chart directory"},
		{"two top dirs", tgz(t, chart, entry{Name: "other/values.yaml"}), Limits{}, ErrBadArchive, "more than one top-level directory"},
		{"symlink", tgz(t, chart, entry{Name: "demo/templates/x.yaml", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}), Limits{}, ErrIrregularFile, "a symlink to \"/etc/passwd\""},
		{"hardlink", tgz(t, chart, entry{Name: "demo/x", Type: tar.TypeLink, Linkname: "demo/Chart.yaml"}), Limits{}, ErrIrregularFile, "hard link"},
		{"char device", tgz(t, chart, entry{Name: "demo/tty", Type: tar.TypeChar}), Limits{}, ErrIrregularFile, "a device"},
		{"fifo", tgz(t, chart, entry{Name: "demo/fifo", Type: tar.TypeFifo}), Limits{}, ErrIrregularFile, "FIFO"},
		{"duplicate", tgz(t, chart, chart), Limits{}, ErrBadArchive, "duplicate entry"},
		{"bomb 200MiB of zeros", bomb(t, 200<<20), Limits{MaxFileSize: 1 << 30}, ErrTooLarge, "larger than the maximum size 104857600"},
		{"file too large", bomb(t, 6<<20), Limits{}, ErrTooLarge, "larger than the maximum file size 5242880"},
		{"many files", tgz(t, chart, entry{Name: "demo/a"}, entry{Name: "demo/b"}), Limits{MaxFiles: 2}, ErrTooLarge, "more than 2 files"},
		{"huge pax header", tgz(t, chart, entry{Name: "demo/a", PAX: map[string]string{"comment": strings.Repeat("x", 200<<10)}}), Limits{MaxDecompressed: 64 << 10}, ErrTooLarge, "maximum size"},
		{"bad semver", tgz(t, entry{Name: "demo/Chart.yaml", Body: "apiVersion: v2\nname: demo\nversion: one\n"}), Limits{}, ErrInvalidChart, `validation: chart.metadata.version "one" is invalid`},
		{"no name", tgz(t, entry{Name: "demo/Chart.yaml", Body: "apiVersion: v2\nversion: 1.0.0\n"}), Limits{}, ErrInvalidChart, "validation: chart.metadata.name is required"},
		{"Chart.yaml not YAML", tgz(t, entry{Name: "demo/Chart.yaml", Body: "name: [unclosed\n"}), Limits{}, ErrInvalidChart, "cannot load Chart.yaml"},
		{"values.yaml not YAML", tgz(t, chart, entry{Name: "demo/values.yaml", Body: "a: b: c\n"}), Limits{}, ErrInvalidChart, "cannot load values.yaml"},
		{"bad Chart.lock", tgz(t, chart, entry{Name: "demo/Chart.lock", Body: "generated: tuesday\n"}), Limits{}, ErrInvalidChart, "cannot load Chart.lock"},
		{"invalid subchart archive", tgz(t, chart, entry{Name: "demo/charts/inner-1.tgz", Body: string(nested)}), Limits{}, ErrInvalidChart, "error unpacking subchart inner-1.tgz in demo: validation"},
		{"subchart archive not gzip", tgz(t, chart, entry{Name: "demo/charts/x.tgz", Body: "nope"}), Limits{}, ErrBadArchive, "error unpacking subchart x.tgz"},
		{"nested bomb", tgz(t, chart, entry{Name: "demo/charts/b.tgz", Body: string(bomb(t, 3<<20))}), Limits{MaxDecompressed: 2 << 20}, ErrTooLarge, "maximum size"},
		{"stray file in charts", tgz(t, chart, entry{Name: "demo/charts/README.md"}), Limits{}, ErrNoChartYaml, "error unpacking subchart README.md in demo"},
		{"subchart dir without Chart.yaml", tgz(t, chart, entry{Name: "demo/charts/sub/values.yaml"}), Limits{}, ErrNoChartYaml, "error unpacking subchart sub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []struct {
				name string
				fn   func(io.Reader) error
			}{
				{"ReadArchive", func(r io.Reader) error { _, err := ReadArchive(context.Background(), r, tt.lim); return err }},
				{"ReadArchiveMetadata", func(r io.Reader) error {
					_, err := ReadArchiveMetadata(context.Background(), r, tt.lim)
					return err
				}},
			} {
				err := read.fn(bytes.NewReader(tt.archive))
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s: error = %v, want %v", read.name, err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: error %q does not mention %q", read.name, err, tt.msg)
				}
				// Every rejection is a client error the server can map.
				if !errors.Is(err, ErrBadArchive) && !errors.Is(err, ErrInvalidChart) && !errors.Is(err, ErrTooLarge) {
					t.Errorf("%s: error %v has no class", read.name, err)
				}
			}
		})
	}
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadArchiveAccepts(t *testing.T) {
	sub := tgz(t, entry{Name: "sub/Chart.yaml", Body: "apiVersion: v2\nname: sub\nversion: 0.2.0\n"})
	archive := tgz(t,
		entry{Name: "demo/", Type: tar.TypeDir},
		entry{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, PAX: map[string]string{"comment": "git"}},
		entry{Name: "demo/Chart.yaml", Body: "\ufeff" + minimalChartYaml},
		entry{Name: "demo/values.yaml", Body: "replicas: 1\n"},
		entry{Name: `demo\templates\win.yaml`, Body: "kind: A\n"},
		entry{Name: "demo/./templates/b.yaml", Body: "kind: B\n"},
		entry{Name: "demo/charts/sub-0.2.0.tgz", Body: string(sub)},
		entry{Name: "demo/charts/sub-0.2.0.tgz.prov", Body: "sig"},
		entry{Name: "demo/charts/_skipped/README", Body: "x"},
		entry{Name: "demo/README.md", Body: "# demo"},
	)
	c, err := ReadArchive(context.Background(), bytes.NewReader(archive), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Metadata.Name + "@" + c.Metadata.Version; got != "demo@0.1.0" {
		t.Errorf("metadata = %s", got)
	}
	var templates, files, deps []string
	for _, f := range c.Templates {
		templates = append(templates, f.Name)
	}
	for _, f := range c.Files {
		files = append(files, f.Name)
	}
	for _, d := range c.Dependencies() {
		deps = append(deps, d.ChartFullPath())
	}
	want := [][]string{{"templates/win.yaml", "templates/b.yaml"}, {"charts/sub-0.2.0.tgz.prov", "README.md"}, {"demo/charts/sub"}}
	if diff := cmp.Diff(want, [][]string{templates, files, deps}); diff != "" {
		t.Errorf("templates, files, subcharts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]interface{}{"replicas": float64(1)}, c.Values); diff != "" {
		t.Errorf("values:\n%s", diff)
	}

	info, err := ReadArchiveMetadata(context.Background(), bytes.NewReader(archive), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantInfo := &ArchiveInfo{
		Metadata:  c.Metadata,
		Values:    []byte("replicas: 1\n"),
		Templates: []string{"templates/b.yaml", "templates/win.yaml"},
		Files:     8,
		Size:      int64(len(minimalChartYaml) + 3 + 12 + 8 + 8 + len(sub) + 3 + 1 + 6),
	}
	if diff := cmp.Diff(wantInfo, info); diff != "" {
		t.Errorf("ArchiveInfo (-want +got):\n%s", diff)
	}
}

func TestReadArchiveCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadArchive(ctx, bytes.NewReader(tgz(t, entry{Name: "demo/Chart.yaml", Body: minimalChartYaml})), Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestLimitsValidate(t *testing.T) {
	err := Limits{MaxDecompressed: -1, MaxFiles: -1, MaxFileSize: -1}.Validate()
	if err == nil || strings.Count(err.Error(), "must not be negative") != 3 {
		t.Fatalf("Validate() = %v, want three problems", err)
	}
	if _, err := ReadArchive(context.Background(), strings.NewReader(""), Limits{MaxFiles: -1}); err == nil {
		t.Fatal("ReadArchive accepted negative limits")
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadArchive feeds arbitrary bytes (seeded with good and hostile
// archives) to both readers: they must never panic, must classify every
// failure, and what they accept must package and read back identically.
func FuzzReadArchive(f *testing.F) {
	chart := entry{Name: "demo/Chart.yaml", Body: minimalChartYaml}
	f.Add(tgz(f, chart, entry{Name: "demo/values.yaml", Body: "a: 1\n"}, entry{Name: "demo/templates/x.yaml", Body: "{{ .Values.a }}"}))
	f.Add(tgz(f, chart, entry{Name: "demo/../x"}))
	f.Add(tgz(f, chart, entry{Name: "demo/l", Type: tar.TypeSymlink, Linkname: "/"}))
	f.Add(tgz(f, chart, entry{Name: "demo/charts/s.tgz", Body: string(tgz(f, entry{Name: "s/Chart.yaml", Body: "apiVersion: v1\nname: s\nversion: 1.0.0\n"}))}))
	f.Add(tgz(f, entry{Name: "x/Chart.yaml", Body: "name: x\nversion: 1\ndependencies: [{name: a, alias: 'b c'}]\n"}))
	f.Add([]byte("not an archive"))
	f.Add(tgz(f, chart, entry{Name: "demo//values.yaml", Body: "a: 1\n"}))
	f.Add(tgz(f, chart, entry{Name: `demo\values.yaml`, Body: "a: 1\n"}, entry{Name: "demo/./values.yaml", Body: "a: 2\n"}))
	f.Add(gzBytes(f, append(tarBytes(f, chart), "after the trailer"...)))
	f.Add(append(tgz(f, chart), gzBytes(f, make([]byte, 1024))...))
	lim := Limits{MaxDecompressed: 1 << 20, MaxFiles: 100, MaxFileSize: 256 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadArchive(context.Background(), bytes.NewReader(data), lim)
		info, ierr := ReadArchiveMetadata(context.Background(), bytes.NewReader(data), lim)
		if (err == nil) != (ierr == nil) {
			t.Fatalf("ReadArchive error %v but ReadArchiveMetadata error %v", err, ierr)
		}
		if err != nil {
			if !errors.Is(err, ErrBadArchive) && !errors.Is(err, ErrInvalidChart) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if diff := cmp.Diff(c.Metadata, info.Metadata); diff != "" {
			t.Fatalf("metadata differs between readers:\n%s", diff)
		}
		var buf bytes.Buffer
		if err := Write(&buf, c); err != nil {
			// Helm refuses to package some loadable charts (bad schema JSON).
			if !errors.Is(err, ErrInvalidChart) {
				t.Fatalf("Write: %v", err)
			}
			return
		}
		c2, err := ReadArchive(context.Background(), &buf, Limits{})
		if err != nil {
			t.Fatalf("reading our own package: %v", err)
		}
		if diff := cmp.Diff(c.Metadata, c2.Metadata); diff != "" {
			t.Fatalf("metadata changed by packaging:\n%s", diff)
		}
	})
}

// sparseArchive hand-crafts a tar (Go's writer refuses to) holding Chart.yaml
// and n PAX sparse entries that each expand to size bytes of zeros while
// occupying one block of the stream.
func sparseArchive(t *testing.T, n int, size int64) []byte {
	t.Helper()
	var raw bytes.Buffer
	block := func(name string, typ byte, body []byte) {
		hdr := make([]byte, 512)
		copy(hdr, name)
		copy(hdr[100:], "0000644\x00")
		copy(hdr[108:], "0000000\x00")
		copy(hdr[116:], "0000000\x00")
		copy(hdr[124:], fmt.Sprintf("%011o\x00", len(body)))
		copy(hdr[136:], "00000000000\x00")
		hdr[156] = typ
		copy(hdr[257:], "ustar\x0000")
		copy(hdr[148:], "        ")
		sum := 0
		for _, c := range hdr {
			sum += int(c)
		}
		copy(hdr[148:], fmt.Sprintf("%06o\x00 ", sum))
		raw.Write(hdr)
		raw.Write(body)
		if pad := len(body) % 512; pad != 0 {
			raw.Write(make([]byte, 512-pad))
		}
	}
	record := func(k, v string) string {
		for l := len(k) + len(v) + 3; ; l++ {
			if s := fmt.Sprintf("%d %s=%s\n", l, k, v); len(s) == l {
				return s
			}
		}
	}
	block("demo/Chart.yaml", '0', []byte(minimalChartYaml))
	for i := range n {
		name := fmt.Sprintf("demo/sparse%d", i)
		pax := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") +
			record("GNU.sparse.name", name) + record("GNU.sparse.realsize", fmt.Sprint(size))
		block("PaxHeaders/"+name, 'x', []byte(pax))
		// Sparse map: one empty data region at the end; the rest is holes.
		sparseMap := make([]byte, 512)
		copy(sparseMap, fmt.Sprintf("1\n%d\n0\n", size))
		block(name, '0', sparseMap)
	}
	raw.Write(make([]byte, 1024))
	return gz(t, raw.String())
}

func TestReadArchiveSparseBomb(t *testing.T) {
	lim := Limits{MaxDecompressed: 1 << 20, MaxFileSize: 1 << 20}
	// Two entries of 400 KiB fit: the reader understands the format.
	c, err := ReadArchive(context.Background(), bytes.NewReader(sparseArchive(t, 2, 400<<10)), lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Files) != 2 || len(c.Files[1].Data) != 400<<10 {
		t.Fatalf("files = %d", len(c.Files))
	}
	// Three do not, although the stream is tiny.
	_, err = ReadArchive(context.Background(), bytes.NewReader(sparseArchive(t, 3, 400<<10)), lim)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
}
