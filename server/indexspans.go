package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A rendering's .spans file says where each version's bytes are in its
// two documents, so a rebuild can reuse them. It is read whole on the
// first rebuild after a start, for every version of the tenant, so it is
// binary rather than JSON (decoding 100k JSON lines took a quarter of a
// rebuild):
//
//	"chartd-spans 1\n"
//	per version: name, version, digest (each a uvarint length and bytes),
//	created (varint, Unix nanoseconds), then the YAML offset and length
//	and the JSON offset and length (uvarints).
const spansMagic = "chartd-spans 1\n"

// maxSpanString bounds each string of a span: chart names and versions are
// short, digests shorter still. A longer one means a damaged file.
const maxSpanString = 4096

var errBadSpans = errors.New("index spans: damaged file")

// writeSpans writes spans to w.
func writeSpans(w io.Writer, spans []span) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(spansMagic)
	var buf []byte
	for i := range spans {
		s := &spans[i]
		buf = buf[:0]
		for _, str := range []string{s.Name, s.Version, s.Digest} {
			buf = binary.AppendUvarint(buf, uint64(len(str)))
			buf = append(buf, str...)
		}
		buf = binary.AppendVarint(buf, s.Created)
		for _, n := range []int64{s.YAML[0], s.YAML[1], s.JSON[0], s.JSON[1]} {
			buf = binary.AppendUvarint(buf, uint64(n))
		}
		bw.Write(buf)
	}
	return bw.Flush()
}

// parseSpans reads what writeSpans wrote, keyed by version. Anything else
// is errBadSpans: the caller then renders every version instead.
func parseSpans(r io.Reader) (map[fragKey]span, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic := make([]byte, len(spansMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != spansMagic {
		return nil, errBadSpans
	}
	out := map[fragKey]span{}
	str := func() (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > maxSpanString {
			return "", errBadSpans
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return "", errBadSpans
		}
		return string(b), nil
	}
	num := func() (int64, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > 1<<62 {
			return 0, errBadSpans
		}
		return int64(n), nil
	}
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return out, nil
		}
		var s span
		var err error
		if s.Name, err = str(); err != nil {
			return nil, err
		}
		if s.Version, err = str(); err != nil {
			return nil, err
		}
		if s.Digest, err = str(); err != nil {
			return nil, err
		}
		if s.Created, err = binary.ReadVarint(br); err != nil {
			return nil, errBadSpans
		}
		for _, p := range []*int64{&s.YAML[0], &s.YAML[1], &s.JSON[0], &s.JSON[1]} {
			if *p, err = num(); err != nil {
				return nil, err
			}
		}
		out[s.key()] = s
	}
}

// readSpans reads a rendering's .spans file.
func readSpans(name string) (map[fragKey]span, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	spans, err := parseSpans(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return spans, nil
}
