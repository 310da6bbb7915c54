package values

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// The --set family of flags uses Helm's strvals syntax:
//
//	name=value,list={a,b},nested.key=v,list[0].x=y,esc\,aped=a\.b
//
// Keys are split on '.', '[' and '='; values end at ','. A backslash
// escapes the next character everywhere except in --set-literal, whose value
// is the whole rest of the string. The parser reproduces Helm's error
// messages, including those Helm produces by recovering from a failed type
// assertion ("unable to parse key: interface conversion: ..."), because users
// and scripts see them.

// MaxIndex is the largest list index --set accepts.
const MaxIndex = 65536

// MaxNestedNameLevel is the deepest key nesting --set accepts.
const MaxNestedNameLevel = 30

// errNotList is returned internally when a value does not start with '{'.
var errNotList = errors.New("not a list")

// ValueReader turns the raw text of a value into the stored value. For
// --set it infers the type; for --set-file it reads the named file.
type ValueReader func(raw []rune) (interface{}, error)

// ParseSet parses a --set expression into dest, inferring types: true,
// false, null, and integers (without a leading zero) become bool, nil and
// int64; everything else stays a string.
func ParseSet(s string, dest map[string]interface{}) error {
	return newParser(s, dest, func(rs []rune) (interface{}, error) { return typedVal(rs, false), nil }, false).parse()
}

// ParseSetString parses a --set-string expression into dest; every value
// is a string.
func ParseSetString(s string, dest map[string]interface{}) error {
	return newParser(s, dest, func(rs []rune) (interface{}, error) { return typedVal(rs, true), nil }, false).parse()
}

// ParseSetFile parses a --set-file expression into dest; read turns each
// value (a file name) into the stored value.
func ParseSetFile(s string, dest map[string]interface{}, read ValueReader) error {
	return newParser(s, dest, read, false).parse()
}

// ParseSetJSON parses a --set-json expression (key=<JSON value>) into dest.
func ParseSetJSON(s string, dest map[string]interface{}) error {
	return newParser(s, dest, nil, true).parse()
}

// ParseSetLiteral parses a --set-literal expression into dest: the value
// is everything after the first '=' that ends the key, taken verbatim.
func ParseSetLiteral(s string, dest map[string]interface{}) error {
	p := newParser(s, dest, nil, false)
	p.literal = true
	return p.parse()
}

// Parse parses s as --set into a new map.
func Parse(s string) (map[string]interface{}, error) {
	m := map[string]interface{}{}
	err := ParseSet(s, m)
	return m, err
}

// typedVal infers a --set value's type the way Helm does.
func typedVal(v []rune, asString bool) interface{} {
	val := string(v)
	if asString {
		return val
	}
	switch {
	case strings.EqualFold(val, "true"):
		return true
	case strings.EqualFold(val, "false"):
		return false
	case strings.EqualFold(val, "null"):
		return nil
	case val == "0":
		return int64(0)
	}
	if len(val) != 0 && val[0] != '0' {
		if iv, err := strconv.ParseInt(val, 10, 64); err == nil {
			return iv
		}
	}
	return val
}

type parser struct {
	sc     *strings.Reader
	data   map[string]interface{}
	reader ValueReader
	json   bool
	// literal is --set-literal: no escapes, and the value is the whole
	// rest of the input, commas included.
	literal bool
}

func newParser(s string, dest map[string]interface{}, r ValueReader, isJSON bool) *parser {
	return &parser{sc: strings.NewReader(s), data: dest, reader: r, json: isJSON}
}

func (p *parser) parse() error {
	for {
		err := p.key(p.data, 0)
		if err == nil {
			continue
		}
		// Only a bare EOF ends the input cleanly: a wrapped one ("error
		// parsing index: EOF") is a real error, as in Helm.
		if err == io.EOF { //nolint:errorlint // identity, not a cause check
			return nil
		}
		return err
	}
}

// conversionError mimics the message of the runtime panic Helm recovers
// from when a --set path crosses a value of the wrong type.
func conversionError(v interface{}, want string) error {
	got := "nil"
	if v != nil {
		got = fmt.Sprintf("%T", v)
	}
	return fmt.Errorf("unable to parse key: interface conversion: interface {} is %s, not %s", got, want)
}

const (
	wantList = "[]interface {}"
	wantMap  = "map[string]interface {}"
)

func setKey(data map[string]interface{}, key string, val interface{}) {
	if key != "" {
		data[key] = val
	}
}

func (p *parser) key(data map[string]interface{}, level int) error {
	stops := "=[,."
	if p.literal {
		stops = "=[."
	}
	k, last, err := runesUntil(p.sc, stops, !p.literal)
	switch {
	case err != nil:
		if len(k) == 0 {
			return err
		}
		return fmt.Errorf("key %q has no value", string(k))
	case last == '[':
		i, err := p.keyIndex(!p.literal)
		if err != nil {
			return fmt.Errorf("error parsing index: %w", err)
		}
		kk := string(k)
		list := []interface{}{}
		if x, ok := data[kk]; ok {
			if list, ok = x.([]interface{}); !ok {
				return conversionError(x, wantList)
			}
		}
		list, err = p.listItem(list, i, level)
		setKey(data, kk, list)
		return err
	case last == '=':
		if p.literal {
			setKey(data, string(k), p.restRunes())
			return nil
		}
		if p.json {
			v, err := p.jsonValue()
			if err != nil {
				return err
			}
			setKey(data, string(k), v)
			_, err = p.emptyVal()
			return err
		}
		vl, e := p.valList()
		switch {
		case e == nil:
			setKey(data, string(k), vl)
			return nil
		case errors.Is(e, io.EOF):
			setKey(data, string(k), "")
			return e
		case errors.Is(e, errNotList):
			rs, e := p.val()
			if e != nil && !errors.Is(e, io.EOF) {
				return e
			}
			v, e := p.reader(rs)
			setKey(data, string(k), v)
			return e
		default:
			return e
		}
	case last == ',':
		setKey(data, string(k), "")
		return fmt.Errorf("key %q has no value (cannot end with ,)", string(k))
	default: // '.'
		level++
		if level > MaxNestedNameLevel {
			return fmt.Errorf("value name nested level is greater than maximum supported nested level of %d", MaxNestedNameLevel)
		}
		inner := map[string]interface{}{}
		if x, ok := data[string(k)]; ok {
			if inner, ok = x.(map[string]interface{}); !ok {
				return conversionError(x, wantMap)
			}
		}
		e := p.key(inner, level)
		if e == nil && len(inner) == 0 {
			return fmt.Errorf("key map %q has no value", string(k))
		}
		if len(inner) != 0 {
			setKey(data, string(k), inner)
		}
		return e
	}
}

// jsonValue reads one JSON value after '=' (nil for an empty value).
func (p *parser) jsonValue() (interface{}, error) {
	empty, err := p.emptyVal()
	if err != nil || empty {
		return nil, err
	}
	rest := p.rest()
	dec := json.NewDecoder(strings.NewReader(rest))
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// Resume right after the decoded value.
	p.sc = strings.NewReader(rest[dec.InputOffset():])
	return v, nil
}

// restRunes consumes the unread input rune by rune, so invalid UTF-8
// becomes U+FFFD, as in Helm's literal parser.
func (p *parser) restRunes() string {
	rs, _, _ := runesUntil(p.sc, "", false)
	return string(rs)
}

// rest consumes and returns the unread input, byte for byte (JSON values
// are decoded from the raw bytes in Helm).
func (p *parser) rest() string {
	n := p.sc.Len()
	buf := make([]byte, n)
	_, _ = io.ReadFull(p.sc, buf)
	return string(buf)
}

func setIndex(list []interface{}, index int, val interface{}) ([]interface{}, error) {
	if index < 0 {
		return list, fmt.Errorf("negative %d index not allowed", index)
	}
	if index > MaxIndex {
		return list, fmt.Errorf("index of %d is greater than maximum supported index of %d", index, MaxIndex)
	}
	if len(list) <= index {
		nl := make([]interface{}, index+1)
		copy(nl, list)
		list = nl
	}
	list[index] = val
	return list, nil
}

func (p *parser) keyIndex(escapes bool) (int, error) {
	v, _, err := runesUntil(p.sc, "]", escapes)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(v))
}

func (p *parser) listItem(list []interface{}, i, level int) ([]interface{}, error) {
	if i < 0 {
		return list, fmt.Errorf("negative %d index not allowed", i)
	}
	k, last, err := runesUntil(p.sc, "[.=", !p.literal)
	switch {
	case len(k) > 0:
		// Helm formats the runes with %q, giving ['a' 'b'].
		return list, fmt.Errorf("unexpected data at end of array index: %q", k)
	case err != nil:
		return list, err
	case last == '=':
		if p.literal {
			return setIndex(list, i, p.restRunes())
		}
		if p.json {
			v, err := p.jsonValue()
			if err != nil {
				return list, err
			}
			if list, err = setIndex(list, i, v); err != nil {
				return list, err
			}
			_, err = p.emptyVal()
			return list, err
		}
		vl, e := p.valList()
		switch {
		case e == nil:
			return setIndex(list, i, vl)
		case errors.Is(e, io.EOF):
			return setIndex(list, i, "")
		case errors.Is(e, errNotList):
			rs, e := p.val()
			if e != nil && !errors.Is(e, io.EOF) {
				return list, e
			}
			v, e := p.reader(rs)
			if e != nil {
				return list, e
			}
			return setIndex(list, i, v)
		default:
			return list, e
		}
	case last == '[':
		next, err := p.keyIndex(!p.literal)
		if err != nil {
			return list, fmt.Errorf("error parsing index: %w", err)
		}
		var cur []interface{}
		if len(list) > i && list[i] != nil {
			var ok bool
			if cur, ok = list[i].([]interface{}); !ok {
				return list, conversionError(list[i], wantList)
			}
		}
		l2, err := p.listItem(cur, next, level)
		if err != nil {
			return list, err
		}
		return setIndex(list, i, l2)
	default: // '.'
		inner := map[string]interface{}{}
		if len(list) > i {
			if m, ok := list[i].(map[string]interface{}); ok {
				inner = m
			} else {
				list[i] = inner
			}
		}
		if e := p.key(inner, level); e != nil {
			return list, e
		}
		return setIndex(list, i, inner)
	}
}

// emptyVal skips blanks; it reports whether the value ends here (at a ','
// or the end of input).
func (p *parser) emptyVal() (bool, error) {
	for {
		r, _, e := p.sc.ReadRune()
		if errors.Is(e, io.EOF) {
			return true, nil
		}
		if e != nil {
			return false, e
		}
		if r == ',' {
			return true, nil
		}
		if !unicode.IsSpace(r) {
			_ = p.sc.UnreadRune()
			return false, nil
		}
	}
}

func (p *parser) val() ([]rune, error) {
	v, _, err := runesUntil(p.sc, ",", true)
	return v, err
}

// valList reads a {a,b,c} list, or reports errNotList.
func (p *parser) valList() ([]interface{}, error) {
	r, _, e := p.sc.ReadRune()
	if e != nil {
		return []interface{}{}, e
	}
	if r != '{' {
		_ = p.sc.UnreadRune()
		return []interface{}{}, errNotList
	}
	list := []interface{}{}
	for {
		rs, last, err := runesUntil(p.sc, ",}", true)
		switch {
		case err != nil:
			if errors.Is(err, io.EOF) {
				err = errors.New("list must terminate with '}'")
			}
			return list, err
		case last == '}':
			// A ',' right after the list belongs to it.
			if r, _, e := p.sc.ReadRune(); e == nil && r != ',' {
				_ = p.sc.UnreadRune()
			}
			v, e := p.reader(rs)
			list = append(list, v)
			return list, e
		default:
			v, e := p.reader(rs)
			if e != nil {
				return list, e
			}
			list = append(list, v)
		}
	}
}

// runesUntil reads up to (and consumes) the first rune in stop. With
// escapes, a backslash makes the next rune literal.
func runesUntil(in *strings.Reader, stop string, escapes bool) ([]rune, rune, error) {
	v := []rune{}
	for {
		r, _, e := in.ReadRune()
		switch {
		case e != nil:
			return v, r, e
		case strings.ContainsRune(stop, r):
			return v, r, nil
		case escapes && r == '\\':
			next, _, e := in.ReadRune()
			if e != nil {
				return v, next, e
			}
			v = append(v, next)
		default:
			v = append(v, r)
		}
	}
}
