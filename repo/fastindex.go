package repo

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// errNotFast makes parseFastYAML give up; the caller then uses the general
// YAML parser. The fast path only has to be right for what it accepts.
var errNotFast = errors.New("index layout not handled by the fast parser")

// parseFastYAML reads an index.yaml in the block layout that Helm, chartd
// and ChartMuseum write (what sigs.k8s.io/yaml emits): block mappings and
// sequences, plain (possibly folded), single- or double-quoted single-line
// scalars. It decodes straight into the compact ChartVersion, skipping the
// fields search does not use, which makes it many times faster and lighter
// than a general YAML decoder on big indexes. Anything unusual (comments
// inside values, anchors, tags, block scalars, flow collections, multi-line
// quoted strings, tabs) returns errNotFast.
func parseFastYAML(data []byte) (*IndexFile, error) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, errNotFast
	}
	// One conversion up front: every line and scalar is then a substring,
	// with no allocation per line.
	p := &fastParser{data: string(data)}
	idx := &IndexFile{}
	for {
		l, ok := p.next()
		if !ok {
			break
		}
		if l.indent != 0 {
			return nil, errNotFast
		}
		key, val, err := splitKey(l.text)
		if err != nil {
			return nil, err
		}
		switch key {
		case "apiVersion":
			if idx.APIVersion, err = p.scalar(val, 0); err != nil {
				return nil, err
			}
		case "entries":
			if idx.Entries, err = p.entries(val); err != nil {
				return nil, err
			}
		case "serverInfo":
			if val != "" {
				return nil, errNotFast
			}
			si := &ServerInfo{}
			if l, ok := p.peek(); ok && l.indent > 0 {
				idx.ServerInfo = si // "serverInfo:" alone is null
			}
			if err := p.mapping(0, func(k, v string, ind int) error {
				if k == "contextPath" {
					s, err := p.scalar(v, ind)
					si.ContextPath = s
					return err
				}
				return p.skip(v, ind)
			}); err != nil {
				return nil, err
			}
		default:
			if err := p.skip(val, 0); err != nil {
				return nil, err
			}
		}
	}
	return idx, nil
}

type fastParser struct {
	data string
	pos  int
	// peeked holds a line read but not consumed.
	peeked *line
}

type line struct {
	indent int
	text   string // content after the indentation, right-trimmed
}

// next returns the next non-empty line; comment lines are skipped.
func (p *fastParser) next() (line, bool) {
	if p.peeked != nil {
		l := *p.peeked
		p.peeked = nil
		return l, true
	}
	for p.pos < len(p.data) {
		end := strings.IndexByte(p.data[p.pos:], '\n')
		var raw string
		if end < 0 {
			raw, p.pos = p.data[p.pos:], len(p.data)
		} else {
			raw, p.pos = p.data[p.pos:p.pos+end], p.pos+end+1
		}
		ind := 0
		for ind < len(raw) && raw[ind] == ' ' {
			ind++
		}
		text := strings.TrimRight(raw[ind:], " \r")
		if text == "" || text[0] == '#' {
			continue
		}
		return line{ind, text}, true
	}
	return line{}, false
}

func (p *fastParser) peek() (line, bool) {
	l, ok := p.next()
	if ok {
		p.peeked = &l
	}
	return l, ok
}

// splitKey splits "key: value" or "key:".
func splitKey(s string) (key, val string, err error) {
	if s == "" || strings.ContainsAny(s[:1], `"'{[&*!|>%@-?`+"`") || strings.ContainsRune(s, '\t') {
		return "", "", errNotFast
	}
	if strings.HasSuffix(s, ":") {
		key, val = s[:len(s)-1], ""
	} else {
		i := strings.Index(s, ": ")
		if i <= 0 {
			return "", "", errNotFast
		}
		key, val = s[:i], strings.TrimLeft(s[i+2:], " ")
	}
	key = strings.TrimRight(key, " ")
	if key == "" || strings.ContainsAny(key, "#'\"{}[],&*!|>%@`:\\") {
		return "", "", errNotFast
	}
	return key, val, nil
}

// scalar decodes a value that began on a line whose key sat at indent ind;
// plain scalars continue on deeper-indented lines (folded with spaces).
func (p *fastParser) scalar(v string, ind int) (string, error) {
	if v == "" {
		// A key with nothing after it: null, unless a nested block follows.
		if l, ok := p.peek(); ok && (l.indent > ind || (l.indent == ind && strings.HasPrefix(l.text, "- "))) {
			return "", errNotFast
		}
		return "", nil
	}
	switch v[0] {
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' || oddBackslashesBefore(v, len(v)-1) {
			var err error
			if v, err = p.foldDoubleQuoted(v, ind); err != nil {
				return "", err
			}
		}
		body := v[1 : len(v)-1]
		if !strings.ContainsRune(body, '\\') {
			if strings.ContainsRune(body, '"') {
				return "", errNotFast
			}
			return body, nil
		}
		for i := 0; i+1 < len(body); i++ {
			if body[i] == '\\' && body[i+1] >= '0' && body[i+1] <= '9' {
				return "", errNotFast
			}
		}
		if strings.ContainsAny(body, "\x00") || strings.Contains(body, `\/`) || strings.Contains(body, `\e`) ||
			strings.Contains(body, `\N`) || strings.Contains(body, `\_`) || strings.Contains(body, `\L`) ||
			strings.Contains(body, `\P`) || strings.Contains(body, `\ `) || strings.Contains(body, `\0`) {
			return "", errNotFast
		}
		s, err := strconv.Unquote(v)
		if err != nil {
			return "", errNotFast
		}
		return s, nil
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' || strings.Count(strings.ReplaceAll(v[1:len(v)-1], "''", ""), "'") != 0 {
			// A folded single-quoted scalar: gather its lines first.
			more, err := p.fold(ind)
			if err != nil {
				return "", err
			}
			if more == "" {
				return "", errNotFast
			}
			v += more
			if len(v) < 2 || v[len(v)-1] != '\'' {
				return "", errNotFast
			}
		}
		body := v[1 : len(v)-1]
		if strings.Count(body, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
			return "", errNotFast
		}
		return strings.ReplaceAll(body, "''", "'"), nil
	case '|':
		return p.literal(v, ind)
	case '{', '[', '&', '*', '!', '>', '%', '@', '`', '#':
		return "", errNotFast
	}
	if strings.Contains(v, " #") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
		return "", errNotFast
	}
	if v == "~" || v == "null" || v == "Null" || v == "NULL" {
		return "", nil
	}
	more, err := p.fold(ind)
	if err != nil {
		return "", err
	}
	if more != "" {
		if strings.Contains(more, " #") || strings.Contains(more, ": ") || strings.Contains(more, ":\n") || strings.HasSuffix(more, ":") {
			return "", errNotFast
		}
		v += more
	}
	return v, nil
}

// fold reads the continuation lines of a flow scalar whose key sat at
// indent ind, from the raw bytes: "" when there are none, else the lines
// folded as YAML does (a line break is a space, each blank line a newline),
// prefixed with the separator that joins them to the first line.
func (p *fastParser) fold(ind int) (string, error) {
	if p.peeked != nil {
		if p.peeked.indent > ind {
			return "", errNotFast
		}
		return "", nil
	}
	var b strings.Builder
	blanks := 0
	for p.pos < len(p.data) {
		end := strings.IndexByte(p.data[p.pos:], '\n')
		next := len(p.data)
		raw := p.data[p.pos:]
		if end >= 0 {
			raw, next = p.data[p.pos:p.pos+end], p.pos+end+1
		}
		t := strings.TrimRight(raw, " \r")
		sp := len(t) - len(strings.TrimLeft(t, " "))
		if t == "" {
			blanks++
			p.pos = next
			continue
		}
		if sp <= ind || t[sp] == '#' || t[sp] == '\t' {
			break
		}
		if blanks > 0 {
			b.WriteString(strings.Repeat("\n", blanks))
		} else {
			b.WriteByte(' ')
		}
		blanks = 0
		b.WriteString(t[sp:])
		p.pos = next
	}
	// Blank lines before the next key belong to no scalar; the position
	// already moved past them, which next() would skip anyway.
	return b.String(), nil
}

// seq reads a sequence of scalars (keywords, urls) that follows a key at
// indent ind: either "[]" or "- item" lines at indent >= ind.
func (p *fastParser) seq(v string, ind int) ([]string, error) {
	if v == "[]" {
		return []string{}, nil
	}
	if v != "" {
		return nil, errNotFast
	}
	var out []string
	dash := -1
	for {
		l, ok := p.peek()
		if !ok || l.indent < ind || !strings.HasPrefix(l.text, "- ") && l.text != "-" {
			break
		}
		if dash < 0 {
			dash = l.indent
		} else if l.indent != dash {
			return nil, errNotFast
		}
		p.peeked = nil
		item := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if item == "" || item[0] == '#' || item[0] == '-' {
			return nil, errNotFast
		}
		s, err := p.scalar(item, dash)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// skip discards the value of a key at indent ind, nested blocks included.
func (p *fastParser) skip(v string, ind int) error {
	if v != "" {
		if v[0] == '"' || v[0] == '\'' {
			// A quoted scalar may run over lines at any indentation
			// until its closing quote: parse it to find its end.
			_, err := p.scalar(v, ind)
			return err
		}
		// Whatever continues the value (folded or block scalar, flow
		// collection) is deeper than the key.
		for {
			l, ok := p.peek()
			if !ok || l.indent <= ind {
				return nil
			}
			p.peeked = nil
		}
	}
	first := true
	for {
		l, ok := p.peek()
		if !ok {
			return nil
		}
		if l.indent > ind || (first && l.indent == ind && strings.HasPrefix(l.text, "- ")) ||
			(!first && l.indent == ind && strings.HasPrefix(l.text, "- ")) {
			// Nested content is deeper than the key by construction
			// (block scalars included), so it can be dropped line by line.
			p.peeked = nil
			first = false
			continue
		}
		return nil
	}
}

// mapping calls f for each "key: value" line of the block mapping nested
// under a key at indent parent.
func (p *fastParser) mapping(parent int, f func(k, v string, ind int) error) error {
	ind := -1
	for {
		l, ok := p.peek()
		if !ok || l.indent <= parent {
			return nil
		}
		if ind < 0 {
			ind = l.indent
		} else if l.indent != ind {
			return errNotFast
		}
		p.peeked = nil
		k, v, err := splitKey(l.text)
		if err != nil {
			return err
		}
		if err := f(k, v, ind); err != nil {
			return err
		}
	}
}

func (p *fastParser) entries(v string) (map[string][]*ChartVersion, error) {
	out := map[string][]*ChartVersion{}
	if v == "{}" {
		return out, nil
	}
	if v != "" {
		return nil, errNotFast
	}
	err := p.mapping(0, func(name, v string, ind int) error {
		if v == "[]" {
			out[name] = []*ChartVersion{}
			return nil
		}
		if v != "" {
			return errNotFast
		}
		var cvs []*ChartVersion
		dash := -1
		for {
			l, ok := p.peek()
			if !ok || l.indent < ind || !strings.HasPrefix(l.text, "- ") {
				break
			}
			if dash < 0 {
				dash = l.indent
			} else if l.indent != dash {
				return errNotFast
			}
			// "- key: value" opens the item's mapping at dash+2: re-read
			// the rest of the line as the first field.
			p.peeked = &line{indent: dash + 2, text: strings.TrimLeft(l.text[2:], " ")}
			if p.peeked.indent != dash+2 || len(l.text) < 3 || l.text[2] == ' ' {
				return errNotFast
			}
			cv := &ChartVersion{}
			if err := p.mapping(dash, func(k, v string, ki int) error { return p.field(cv, k, v, ki) }); err != nil {
				return err
			}
			cvs = append(cvs, cv)
		}
		out[name] = cvs
		return nil
	})
	if len(out) == 0 && v == "" {
		// "entries:" with nothing under it is null, not an empty map.
		return nil, err
	}
	return out, err
}

func (p *fastParser) field(cv *ChartVersion, k, v string, ind int) error {
	var err error
	switch k {
	case "name":
		cv.Name, err = p.scalar(v, ind)
	case "version":
		cv.Version, err = p.scalar(v, ind)
	case "appVersion":
		cv.AppVersion, err = p.scalar(v, ind)
	case "description":
		cv.Description, err = p.scalar(v, ind)
	case "digest":
		cv.Digest, err = p.scalar(v, ind)
	case "keywords":
		cv.Keywords, err = p.seq(v, ind)
	case "urls":
		cv.URLs, err = p.seq(v, ind)
	case "deprecated":
		var s string
		if s, err = p.scalar(v, ind); err == nil {
			switch s {
			case "true", "True", "TRUE":
				cv.Deprecated = true
			case "false", "False", "FALSE", "":
			default:
				err = errNotFast
			}
		}
	default:
		err = p.skip(v, ind)
	}
	return err
}

// literal reads a literal block scalar ("|", "|-" or "|+") whose key sat at
// indent ind, straight from the raw bytes, since blank lines count in it.
func (p *fastParser) literal(header string, ind int) (string, error) {
	if p.peeked != nil {
		return "", errNotFast
	}
	// Header: "|", then an optional chomping indicator and an optional
	// indentation indicator (relative to the key's indent), in any order.
	chomp, explicit := "", 0
	for _, c := range header[1:] {
		switch {
		case (c == '-' || c == '+') && chomp == "":
			chomp = string(c)
		case c >= '1' && c <= '9' && explicit == 0:
			explicit = int(c - '0')
		default:
			return "", errNotFast
		}
	}
	var lines []string
	unterminated := false
	n := -1 // content indentation
	if explicit > 0 {
		n = ind + explicit
	}
	for p.pos < len(p.data) {
		end := strings.IndexByte(p.data[p.pos:], '\n')
		next := len(p.data)
		raw := p.data[p.pos:]
		if end >= 0 {
			raw, next = p.data[p.pos:p.pos+end], p.pos+end+1
		}
		raw = strings.TrimSuffix(raw, "\r")
		sp := 0
		for sp < len(raw) && raw[sp] == ' ' {
			sp++
		}
		if sp == len(raw) { // blank line: part of the scalar so far
			if n >= 0 && sp > n {
				lines = append(lines, raw[n:])
			} else {
				lines = append(lines, "")
			}
			p.pos = next
			continue
		}
		if raw[sp] == '\t' && sp <= ind {
			return "", errNotFast
		}
		if sp <= ind {
			break
		}
		if n < 0 {
			n = sp
		} else if sp < n {
			return "", errNotFast
		}
		lines = append(lines, raw[n:])
		unterminated = end < 0
		p.pos = next
	}
	if (unterminated && chomp != "-") || (p.pos >= len(p.data) && !strings.HasSuffix(p.data, "\n")) {
		// Block scalars that run into the end of the file have chomping
		// subtleties not worth reproducing: leave them to the YAML parser.
		return "", errNotFast
	}
	if n < 0 {
		return "", errNotFast
	}
	// Trailing blank lines are not content (kept only with "+").
	trailing := 0
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
		trailing++
	}
	body := strings.Join(lines, "\n")
	switch chomp {
	case "-":
		return body, nil
	case "+":
		return body + "\n" + strings.Repeat("\n", trailing), nil
	}
	if body == "" {
		return "", nil
	}
	return body + "\n", nil
}

// oddBackslashesBefore reports whether the byte at i is escaped.
func oddBackslashesBefore(s string, i int) bool {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// foldDoubleQuoted gathers a double-quoted scalar that spans lines: a line
// break is a space, unless the line ends with an escaping backslash, in
// which case it vanishes; continuation lines lose their indentation.
func (p *fastParser) foldDoubleQuoted(first string, ind int) (string, error) {
	if p.peeked != nil {
		return "", errNotFast
	}
	v := first
	for p.pos < len(p.data) {
		end := strings.IndexByte(p.data[p.pos:], '\n')
		next := len(p.data)
		raw := p.data[p.pos:]
		if end >= 0 {
			raw, next = p.data[p.pos:p.pos+end], p.pos+end+1
		}
		t := strings.TrimRight(raw, "\r")
		body := strings.TrimLeft(t, " ")
		if body == "" || len(t)-len(body) <= ind || strings.HasPrefix(body, "\\ ") || strings.HasPrefix(body, "\t") {
			return "", errNotFast
		}
		p.pos = next
		if strings.HasSuffix(v, "\\") && oddBackslashesBefore(v+"x", len(v)+1) {
			v = v[:len(v)-1] + body
		} else {
			v = strings.TrimRight(v, " ") + " " + body
		}
		if strings.HasSuffix(v, "\"") && !oddBackslashesBefore(v, len(v)-1) {
			return v, nil
		}
	}
	return "", errNotFast
}
