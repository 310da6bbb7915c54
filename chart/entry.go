package chart

import (
	"archive/tar"
	"path"
	"strings"
)

// entryPath splits an entry name into the top directory and the normalised
// path below it ("" for the top directory itself). It normalises as Helm's
// loader (loader.LoadArchiveFiles) does, so the path is the one Helm loads
// the file as: a name written with backslashes (Windows tools) is split on
// them, and "." segments are dropped. It refuses, where Helm loads a
// different file than `tar x` writes or refuses the chart itself:
//
//   - an absolute name, or a drive path ("c:/x") at the top or below it;
//   - an empty segment right after the top directory ("top//values.yaml"),
//     with Helm's message: Helm refuses it, `tar x` writes top/values.yaml;
//   - an empty segment deeper ("top/templates//x"). Helm would clean it to
//     templates/x; no tool writes it, and one spelling per file keeps the
//     duplicate check exact;
//   - ".." anywhere, even where Helm's path.Clean would keep the result
//     inside the chart, and, as Helm does, a path starting with "..";
//   - a name mixing "/" and "\": Helm splits it on "\" only and so loads it
//     under another name than the one `tar x` gives it;
//   - a trailing "/" on anything but a directory.
func entryPath(hd *tar.Header, isDir bool) (top, rel string, err error) {
	name := hd.Name
	if strings.Contains(name, `\`) {
		if strings.Contains(name, "/") {
			return "", "", errorf(ErrBadArchive, `chart archive entry %q mixes "/" and "\" as separators`, hd.Name)
		}
		name = strings.ReplaceAll(name, `\`, "/")
	}
	if strings.HasPrefix(name, "/") || isDrivePath(name) {
		return "", "", errorf(ErrPathTraversal, "chart archive entry %q has an absolute path", hd.Name)
	}
	if strings.HasSuffix(name, "/") {
		if !isDir {
			return "", "", errorf(ErrBadArchive, "chart archive entry %q is a file with a directory's name", hd.Name)
		}
		name = name[:len(name)-1]
	}
	parts := strings.Split(name, "/")
	top, below := parts[0], parts[1:]
	if len(below) > 0 && below[0] == "" {
		// Helm's words: the path below the top directory starts with "/".
		return "", "", errorf(ErrPathTraversal, "chart illegally contains absolute paths: entry %q", hd.Name)
	}
	kept := make([]string, 0, len(below))
	for _, p := range parts {
		if p == ".." {
			return "", "", errorf(ErrPathTraversal, "chart illegally references parent directory: entry %q", hd.Name)
		}
	}
	for _, p := range below {
		switch p {
		case "":
			return "", "", errorf(ErrBadArchive, "chart archive entry %q has an empty path segment", hd.Name)
		case ".":
			continue
		}
		kept = append(kept, p)
	}
	if top == "" || top == "." {
		return "", "", errorf(ErrBadArchive, "chart archive entry %q is not inside a chart directory", hd.Name)
	}
	rel = strings.Join(kept, "/")
	if strings.HasPrefix(rel, "..") {
		// Helm refuses any path that starts with "..", "..x" included.
		return "", "", errorf(ErrPathTraversal, "chart illegally references parent directory: entry %q", hd.Name)
	}
	if isDrivePath(rel) {
		return "", "", errorf(ErrPathTraversal, "chart contains illegally named files: entry %q", hd.Name)
	}
	return top, rel, nil
}

// isDrivePath reports a Windows drive path such as "c:/x".
func isDrivePath(p string) bool {
	return len(p) >= 3 && p[1] == ':' && p[2] == '/' &&
		(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

// regularMode reports whether a regular file's mode bits agree with its
// type: Helm trusts the mode (a "regular" entry whose mode says directory is
// skipped as one), `tar x` trusts the type flag.
func regularMode(hd *tar.Header) bool {
	const typeBits, isReg = 0o170000, 0o100000
	t := hd.Mode & typeBits
	return t == 0 || t == isReg
}

// entrySet is the tree an archive's entries build, by normalised path, so
// that two entries naming one file, or a file that is also a directory, are
// refused: either would make the loaded chart differ from the extracted one.
type entrySet struct {
	files map[string]string // normalised path -> first entry name
	dirs  map[string]bool
}

func newEntrySet() *entrySet {
	return &entrySet{files: make(map[string]string), dirs: make(map[string]bool)}
}

func (s *entrySet) addFile(rel, name string) error {
	if first, ok := s.files[rel]; ok {
		return errorf(ErrBadArchive, "chart archive has a duplicate entry %q: %q and %q are both %s", name, first, name, rel)
	}
	if s.dirs[rel] {
		return errorf(ErrBadArchive, "chart archive entry %q is a file, but %s is also a directory", name, rel)
	}
	if err := s.addParents(rel, name); err != nil {
		return err
	}
	s.files[rel] = name
	return nil
}

func (s *entrySet) addDir(rel, name string) error {
	if rel == "" {
		return nil
	}
	if first, ok := s.files[rel]; ok {
		return errorf(ErrBadArchive, "chart archive entry %q is a directory, but %q is a file of that name", name, first)
	}
	if err := s.addParents(rel, name); err != nil {
		return err
	}
	s.dirs[rel] = true
	return nil
}

// addParents records rel's parent directories; one already recorded has
// its own parents recorded, so each is visited once per archive.
func (s *entrySet) addParents(rel, name string) error {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if s.dirs[d] {
			return nil
		}
		if first, ok := s.files[d]; ok {
			return errorf(ErrBadArchive, "chart archive entry %q is inside %q, which is a file", name, first)
		}
		s.dirs[d] = true
	}
	return nil
}
