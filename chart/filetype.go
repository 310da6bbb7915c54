package chart

import (
	"net/http"
	"path/filepath"
)

// CheckArchiveFile refuses, in Helm's words, a chart file whose first
// bytes are not gzip: a YAML file (often values.yaml passed as the chart)
// gets its own hint, anything else names the type Helm detects. Like
// Helm, the type is sniffed from a 512-byte buffer, zero-padded.
func CheckArchiveFile(name string, head []byte) error {
	buf := make([]byte, 512)
	copy(buf, head)
	ct := http.DetectContentType(buf)
	if ct == "application/x-gzip" {
		return nil
	}
	switch filepath.Ext(name) {
	case ".yaml", ".yml":
		return errorf(ErrBadArchive, "file '%s' seems to be a YAML file, but expected a gzipped archive", name)
	}
	return errorf(ErrBadArchive, "file '%s' does not appear to be a gzipped archive; got '%s'", name, ct)
}
