package chart

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// readers are the three ways an archive is read: each must refuse what the
// others refuse, with the same error.
var readers = []struct {
	name string
	read func(io.Reader, Limits, string) error
}{
	{"ReadArchive", func(r io.Reader, lim Limits, _ string) error {
		_, err := ReadArchive(context.Background(), r, lim)
		return err
	}},
	{"ReadArchiveMetadata", func(r io.Reader, lim Limits, _ string) error {
		_, err := ReadArchiveMetadata(context.Background(), r, lim)
		return err
	}},
	{"Expand", func(r io.Reader, _ Limits, dir string) error { return Expand(context.Background(), dir, r) }},
}

// rejectCase is an archive and the error every reader must return for it.
type rejectCase struct {
	name    string
	archive []byte
	lim     Limits
	want    error
	msg     string
}

func runRejects(t *testing.T, tests []rejectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rd := range readers {
				if rd.name == "Expand" && tt.lim != (Limits{}) {
					continue // Expand has the default limits only
				}
				dir := t.TempDir()
				err := rd.read(bytes.NewReader(tt.archive), tt.lim, dir)
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s: error = %v, want %v", rd.name, err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: error %q does not mention %q", rd.name, err, tt.msg)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("%s: wrote %d entries before refusing", rd.name, len(entries))
				}
			}
		})
	}
}

var (
	chartEntry  = entry{Name: "demo/Chart.yaml", Body: minimalChartYaml}
	valuesEntry = entry{Name: "demo/values.yaml", Body: "shown: true\n"}
)

// hostileEntries are the entry shapes that make a loader and `tar x` see
// different files, with what chartd answers.
func hostileEntries(t testing.TB) []rejectCase {
	return []rejectCase{
		{"empty segment hides values.yaml", tgz(t, chartEntry, valuesEntry, entry{Name: "demo//values.yaml", Body: "hidden: true\n"}),
			Limits{}, ErrPathTraversal, `chart illegally contains absolute paths: entry "demo//values.yaml"`},
		{"empty segment hides Chart.yaml", tgz(t, chartEntry, entry{Name: "demo//Chart.yaml", Body: "apiVersion: v2\nname: demo\nversion: 6.6.6\n"}),
			Limits{}, ErrPathTraversal, "chart illegally contains absolute paths"},
		{"empty segment before templates", tgz(t, chartEntry, entry{Name: "demo//templates/x.yaml", Body: "kind: X\n"}),
			Limits{}, ErrPathTraversal, "chart illegally contains absolute paths"},
		{"double backslash", tgz(t, chartEntry, entry{Name: `demo\\values.yaml`, Body: "a: 1\n"}),
			Limits{}, ErrPathTraversal, "chart illegally contains absolute paths"},
		{"empty directory segment", tgz(t, chartEntry, entry{Name: "demo//templates/", Type: tar.TypeDir}),
			Limits{}, ErrPathTraversal, "chart illegally contains absolute paths"},
		{"deeper empty segment", tgz(t, chartEntry, entry{Name: "demo/templates//x.yaml", Body: "kind: X\n"}),
			Limits{}, ErrBadArchive, `entry "demo/templates//x.yaml" has an empty path segment`},
		{"leading slash", tgz(t, chartEntry, valuesEntry, entry{Name: "/demo/values.yaml", Body: "hidden: true\n"}),
			Limits{}, ErrPathTraversal, `entry "/demo/values.yaml" has an absolute path`},
		{"mixed separators", tgz(t, chartEntry, entry{Name: `demo/templates\x.yaml`, Body: "kind: X\n"}),
			Limits{}, ErrBadArchive, `mixes "/" and "\" as separators`},
		{"backslash duplicate", tgz(t, chartEntry, valuesEntry, entry{Name: `demo\values.yaml`, Body: "hidden: true\n"}),
			Limits{}, ErrBadArchive, `duplicate entry "demo\\values.yaml": "demo/values.yaml" and "demo\\values.yaml" are both values.yaml`},
		{"dot segment duplicate", tgz(t, chartEntry, valuesEntry, entry{Name: "demo/./values.yaml", Body: "hidden: true\n"}),
			Limits{}, ErrBadArchive, `duplicate entry "demo/./values.yaml"`},
		{"dot-dot back onto Chart.yaml", tgz(t, chartEntry, entry{Name: "demo/templates/./../Chart.yaml", Body: "apiVersion: v2\nname: demo\nversion: 6.6.6\n"}),
			Limits{}, ErrPathTraversal, "chart illegally references parent directory"},
		{"file is also a directory", tgz(t, chartEntry, entry{Name: "demo/templates", Body: "x"}, entry{Name: "demo/templates/x.yaml", Body: "kind: X\n"}),
			Limits{}, ErrBadArchive, `entry "demo/templates/x.yaml" is inside "demo/templates", which is a file`},
		{"directory entry over a file", tgz(t, chartEntry, valuesEntry, entry{Name: "demo/values.yaml/", Type: tar.TypeDir}),
			Limits{}, ErrBadArchive, `entry "demo/values.yaml/" is a directory, but "demo/values.yaml" is a file`},
		{"file under a directory's name", gzBytes(t, renameEntry(t, tarBytes(t, chartEntry, entry{Name: "demo/values.yaml_", Body: "a: 1\n"}), "demo/values.yaml_", "demo/values.yaml/")),
			Limits{}, ErrBadArchive, "is a file with a directory's name"},
		{"regular file with a directory mode", tgz(t, chartEntry, entry{Name: "demo/values.yaml", Body: "hidden: true\n", Mode: 0o40755}),
			Limits{}, ErrIrregularFile, "whose mode 40755 says otherwise"},
		{"drive path below the top", tgz(t, chartEntry, entry{Name: "demo/c:/x", Body: "x"}),
			Limits{}, ErrPathTraversal, "chart contains illegally named files"},
		{"dot-dot prefix", tgz(t, chartEntry, entry{Name: "demo/..x", Body: "x"}),
			Limits{}, ErrPathTraversal, "chart illegally references parent directory"},
	}
}

func TestReadArchiveRejectsHostileEntries(t *testing.T) {
	runRejects(t, hostileEntries(t))
}

// renameEntry renames an entry of a tar stream in place, for names Go's
// writer refuses to write; the names must have the same length.
func renameEntry(t testing.TB, stream []byte, from, to string) []byte {
	t.Helper()
	out := bytes.Clone(stream)
	for off := 0; off+512 <= len(out); off += 512 {
		hdr := out[off : off+512]
		if string(bytes.TrimRight(hdr[:100], "\x00")) != from {
			continue
		}
		copy(hdr[:100], to)
		copy(hdr[148:156], "        ")
		sum := 0
		for _, c := range hdr {
			sum += int(c)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		return out
	}
	t.Fatalf("no entry %q", from)
	return nil
}

// TestReadArchiveNormalisesLikeHelm: the spellings Helm's loader cleans up
// are read under the name Helm gives them.
func TestReadArchiveNormalisesLikeHelm(t *testing.T) {
	archive := tgz(t,
		entry{Name: "demo/./Chart.yaml", Body: minimalChartYaml},
		entry{Name: `demo\values.yaml`, Body: "a: 1\n"},
		entry{Name: `demo\templates\.\x.yaml`, Body: "kind: X\n"},
		entry{Name: "demo/./templates/./y.yaml", Body: "kind: Y\n"},
		entry{Name: "demo/templates/", Type: tar.TypeDir},
		entry{Name: "demo/files/z", Body: "z", Mode: 0o100644},
	)
	c, err := ReadArchive(context.Background(), bytes.NewReader(archive), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range c.Raw {
		got = append(got, f.Name)
	}
	want := []string{"Chart.yaml", "values.yaml", "templates/x.yaml", "templates/y.yaml", "files/z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("file names (-want +got):\n%s", diff)
	}
	if c.Values["a"] != float64(1) {
		t.Errorf("values = %v", c.Values)
	}
}

// TestExpandWritesWhatWasLoaded: Expand writes the files under the names
// the loader gave them, so what `helm pull --untar` leaves on disk is the
// chart the server indexed.
func TestExpandWritesWhatWasLoaded(t *testing.T) {
	dst := t.TempDir()
	archive := tgz(t, entry{Name: `demo\Chart.yaml`, Body: minimalChartYaml}, entry{Name: "demo/./values.yaml", Body: "a: 1\n"})
	if err := Expand(context.Background(), dst, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dst, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"demo/Chart.yaml": minimalChartYaml, "demo/values.yaml": "a: 1\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expanded files (-want +got):\n%s", diff)
	}
}

// trailerArchive is a valid chart's tar stream followed, inside the gzip
// stream, by extra.
func trailerArchive(t testing.TB, extra []byte) []byte {
	t.Helper()
	return gzBytes(t, append(tarBytes(t, chartEntry, valuesEntry), extra...))
}

func TestReadArchiveRejectsTrailingData(t *testing.T) {
	valid := tgz(t, chartEntry, valuesEntry)
	badCRC := bytes.Clone(valid)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer
	runRejects(t, []rejectCase{
		{"data after the tar trailer", trailerArchive(t, []byte("hidden payload")),
			Limits{}, ErrBadArchive, "chart archive has data after the end of the tar archive"},
		{"zeros then data", trailerArchive(t, append(make([]byte, 4096), 'x')),
			Limits{}, ErrBadArchive, "data after the end of the tar archive"},
		{"a second gzip member with data", append(bytes.Clone(valid), gzBytes(t, []byte("more"))...),
			Limits{}, ErrBadArchive, "data after the end of the tar archive"},
		{"a second member holding a chart", append(bytes.Clone(valid), tgz(t, entry{Name: "demo/values.yaml", Body: "hidden: true\n"})...),
			Limits{}, ErrBadArchive, "data after the end of the tar archive"},
		{"padding beyond any record size", trailerArchive(t, make([]byte, maxTarPadding+1)),
			Limits{}, ErrBadArchive, "more than 1048576 bytes of padding"},
		{"padding beyond the decompressed cap", trailerArchive(t, make([]byte, 600<<10)),
			Limits{MaxDecompressed: 512 << 10}, ErrTooLarge, "larger than the maximum size 524288"},
		{"bytes after the gzip stream", append(bytes.Clone(valid), "not gzip"...),
			Limits{}, ErrBadArchive, "invalid gzip stream after the end of the tar archive"},
		{"bad gzip checksum", badCRC,
			Limits{}, ErrBadArchive, "invalid gzip stream after the end of the tar archive"},
		{"truncated gzip trailer", valid[:len(valid)-4],
			Limits{}, ErrBadArchive, "invalid gzip stream"},
	})
}

func TestReadArchiveAcceptsPadding(t *testing.T) {
	// GNU tar pads to 10 KiB records; a stream split over gzip members (as
	// `cat a.gz b.gz` makes) is one stream, and empty members add nothing.
	tarStream := tarBytes(t, chartEntry, valuesEntry)
	var split bytes.Buffer
	split.Write(gzBytes(t, tarStream[:700]))
	split.Write(gzBytes(t, tarStream[700:]))
	split.Write(gzBytes(t, nil))
	for name, archive := range map[string][]byte{
		"record padding":      trailerArchive(t, make([]byte, 10240-len(tarStream)%10240)),
		"padding at the cap":  trailerArchive(t, make([]byte, maxTarPadding)),
		"split over members":  split.Bytes(),
		"no end-of-archive":   gzBytes(t, tarStream[:len(tarStream)-1024]),
		"empty member at end": append(tgz(t, chartEntry, valuesEntry), gzBytes(t, nil)...),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ReadArchive(context.Background(), bytes.NewReader(archive), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Values["shown"] != true {
				t.Errorf("values = %v", c.Values)
			}
		})
	}
}

// helmEntryVerdicts is, for each entry shape, whether real Helm's loader
// refuses it too and with which words. Where Helm loads the chart, chartd
// is stricter on purpose: Helm would load a file under another name than
// `tar x` writes it, or load one of two files that claim the same name.
var helmEntryVerdicts = map[string]string{
	"empty segment hides values.yaml": "chart illegally contains absolute paths",
	"empty segment hides Chart.yaml":  "chart illegally contains absolute paths",
	"empty segment before templates":  "chart illegally contains absolute paths",
	"double backslash":                "chart illegally contains absolute paths",
	"drive path below the top":        "chart contains illegally named files",
	"dot-dot prefix":                  "chart illegally references parent directory",
	// Helm skips directories, cleans inner empty segments and ".", splits
	// mixed names on "\" only, lets the last duplicate win, trusts a
	// directory mode over the type flag and never reads past the end of
	// the tar archive: it loads all of these.
	"dot-dot back onto Chart.yaml":       "",
	"empty directory segment":            "",
	"deeper empty segment":               "",
	"leading slash":                      "",
	"mixed separators":                   "",
	"backslash duplicate":                "",
	"dot segment duplicate":              "",
	"file is also a directory":           "",
	"directory entry over a file":        "",
	"file under a directory's name":      "",
	"regular file with a directory mode": "",
}

// TestHostileEntriesAgainstHelm runs real Helm v3.22.0 on every hostile
// shape: where Helm refuses, it must be for the reason chartd gives; where
// it loads the chart, the table above says why chartd does not.
func TestHostileEntriesAgainstHelm(t *testing.T) {
	helmBin := peers.Path(t, "helm")
	home := t.TempDir()
	for _, tt := range hostileEntries(t) {
		want, ok := helmEntryVerdicts[tt.name]
		if !ok {
			t.Errorf("%s: no Helm verdict recorded", tt.name)
			continue
		}
		p := filepath.Join(home, "c.tgz")
		if err := os.WriteFile(p, tt.archive, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(helmBin, "show", "chart", p)
		cmd.Env = peers.Env(home)
		out, err := cmd.CombinedOutput()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: Helm refused it (%v: %s), the table says it loads it", tt.name, err, out)
		case want != "" && err == nil:
			t.Errorf("%s: Helm loaded it, want it refused with %q", tt.name, want)
		case want != "" && !strings.Contains(string(out), want):
			t.Errorf("%s: Helm said %q, want %q", tt.name, out, want)
		case want != "" && !strings.Contains(tt.msg, want):
			t.Errorf("%s: chartd's message %q does not say Helm's %q", tt.name, tt.msg, want)
		}
	}
}

// helmEntryName is Helm v3's normalisation of a file entry's name, written
// from its documented behaviour: split on "\" when the name has one, else
// on "/"; drop the first segment; refuse an absolute result, one that cleans
// to ".", starts with "..", or is a drive path.
func helmEntryName(name string) (string, bool) {
	sep := "/"
	if strings.Contains(name, `\`) {
		sep = `\`
	}
	_, rest, _ := strings.Cut(name, sep)
	n := strings.ReplaceAll(rest, sep, "/")
	if path.IsAbs(n) {
		return "", false
	}
	n = path.Clean(n)
	if n == "." || strings.HasPrefix(n, "..") || isDrivePath(n) {
		return "", false
	}
	return n, true
}

// FuzzEntryPath: every file name chartd accepts, Helm accepts under the
// same name; accepted names are canonical (reading them back changes
// nothing); every refusal is an ErrBadArchive.
func FuzzEntryPath(f *testing.F) {
	for _, tt := range hostileEntries(f) {
		for _, hd := range untarHeaders(f, tt.archive) {
			f.Add(hd.Name, hd.Typeflag == tar.TypeDir)
		}
	}
	for _, s := range []string{"demo/Chart.yaml", `demo\templates\a.yaml`, "demo/./x", "demo/", "demo", "./demo/x", "demo/a/../b", "c:/x", "demo/\x00"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, name string, isDir bool) {
		top, rel, err := entryPath(&tar.Header{Name: name}, isDir)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if top == "" || top == "." || strings.ContainsAny(top, `/\`) {
			t.Fatalf("top %q", top)
		}
		for _, seg := range strings.Split(rel, "/") {
			if rel != "" && (seg == "" || seg == "." || seg == "..") || strings.Contains(seg, `\`) {
				t.Fatalf("%q: rel %q is not canonical", name, rel)
			}
		}
		if rel == "" {
			return // the top directory; a file there is refused by the reader
		}
		if !isDir {
			hn, ok := helmEntryName(name)
			if !ok {
				t.Fatalf("%q: accepted as %q, Helm refuses it", name, rel)
			}
			if hn != rel {
				t.Fatalf("%q: accepted as %q, Helm loads it as %q", name, rel, hn)
			}
		}
		top2, rel2, err := entryPath(&tar.Header{Name: top + "/" + rel}, isDir)
		if err != nil || top2 != top || rel2 != rel {
			t.Fatalf("%q -> %q %q, which reads back as %q %q, %v", name, top, rel, top2, rel2, err)
		}
	})
}
