package index

import (
	"strconv"
	"strings"
)

// The fast parser's scalars: plain (folded over lines), single- and
// double-quoted, and literal block scalars, read as go-yaml reads them.

// scalar decodes a value that began on a line whose key sat at indent ind,
// and reports whether it was plain (unquoted), which decides how YAML
// resolves it. Plain scalars continue on deeper-indented lines (folded with
// spaces); a key with nothing after it is the plain empty scalar, null.
func (p *fastParser) scalar(v string, ind int) (string, bool, error) {
	if v == "" {
		// Null, unless a nested block follows.
		if l, ok := p.peek(); ok && (l.indent > ind || (l.indent == ind && strings.HasPrefix(l.text, "- "))) {
			return "", false, errNotFast
		}
		return "", true, nil
	}
	switch v[0] {
	case '"':
		s, err := p.doubleQuoted(v, ind)
		return s, false, err
	case '\'':
		s, err := p.singleQuoted(v, ind)
		return s, false, err
	case '|':
		s, err := p.literal(v, ind)
		return s, false, err
	case '{', '[', '&', '*', '!', '>', '%', '@', '`', '#', ',', ']', '}', '?', ':', '-':
		// Indicators; a plain scalar may begin with some of them, which
		// the decoder can have.
		return "", false, errNotFast
	}
	if strings.Contains(v, " #") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
		return "", false, errNotFast
	}
	more, err := p.fold(ind)
	if err != nil {
		return "", false, err
	}
	if more != "" {
		if strings.Contains(more, " #") || strings.Contains(more, ": ") || strings.Contains(more, ":\n") || strings.HasSuffix(more, ":") {
			return "", false, errNotFast
		}
		v += more
	}
	return v, true, nil
}

func (p *fastParser) doubleQuoted(v string, ind int) (string, error) {
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
}

func (p *fastParser) singleQuoted(v string, ind int) (string, error) {
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
}

// fold reads the continuation lines of a flow scalar whose key sat at
// indent ind, from the raw bytes: "" when there are none, else the lines
// folded as YAML does (a line break is a space, each blank line a newline),
// prefixed with the separator that joins them to the first line.
func (p *fastParser) fold(ind int) (string, error) {
	if p.hasPeeked {
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

// literal reads a literal block scalar ("|", "|-" or "|+") whose key sat at
// indent ind, straight from the raw bytes, since blank lines count in it.
func (p *fastParser) literal(header string, ind int) (string, error) {
	if p.hasPeeked {
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
	if p.hasPeeked {
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
