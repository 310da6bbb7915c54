package values

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type m = map[string]interface{}
type l = []interface{}

func TestParseSet(t *testing.T) {
	tests := []struct {
		in      string
		want    m
		wantErr string
	}{
		{in: "a=b", want: m{"a": "b"}},
		{in: "a=1,b=true,c=null,d=0,e=007,f=-3,g=1.5", want: m{"a": int64(1), "b": true, "c": nil, "d": int64(0), "e": "007", "f": int64(-3), "g": "1.5"}},
		{in: "a=TRUE,b=False,c=NULL", want: m{"a": true, "b": false, "c": nil}},
		{in: "big=9223372036854775808", want: m{"big": "9223372036854775808"}},
		{in: "a.b.c=x", want: m{"a": m{"b": m{"c": "x"}}}},
		{in: `a\.b=x`, want: m{"a.b": "x"}},
		{in: `a=x\,y`, want: m{"a": "x,y"}},
		{in: `a=x\\y`, want: m{"a": `x\y`}},
		{in: "a={x,y,z}", want: m{"a": l{"x", "y", "z"}}},
		{in: "a={1,true}", want: m{"a": l{int64(1), true}}},
		{in: "a={}", want: m{"a": l{""}}},
		{in: "a={x},b=y", want: m{"a": l{"x"}, "b": "y"}},
		{in: "a=", want: m{"a": ""}},
		{in: "a=,b=c", want: m{"a": "", "b": "c"}},
		{in: "a[0]=x", want: m{"a": l{"x"}}},
		{in: "a[2]=x", want: m{"a": l{nil, nil, "x"}}},
		{in: "a[0]=x,a[1]=y", want: m{"a": l{"x", "y"}}},
		{in: "a[0].b=x,a[0].c=y", want: m{"a": l{m{"b": "x", "c": "y"}}}},
		{in: "a[0][1]=x", want: m{"a": l{l{nil, "x"}}}},
		{in: "a[0]", want: m{"a": l{}}},
		{in: "a[0]={x,y}", want: m{"a": l{l{"x", "y"}}}},
		{in: "", want: m{}},
		{in: "a", wantErr: `key "a" has no value`},
		{in: "a=1,b", wantErr: `key "b" has no value`},
		{in: "a,b=1", wantErr: `key "a" has no value (cannot end with ,)`},
		{in: "a.=1", wantErr: `key map "a" has no value`},
		{in: "a[x]=1", wantErr: `error parsing index: strconv.Atoi: parsing "x": invalid syntax`},
		{in: "a[-1]=1", wantErr: "negative -1 index not allowed"},
		{in: "a[65537]=1", wantErr: "index of 65537 is greater than maximum supported index of 65536"},
		{in: "a[0]x=1", wantErr: `unexpected data at end of array index: ['x']`},
		{in: "a[1", wantErr: "error parsing index: EOF"},
		{in: "a={x,y", wantErr: "list must terminate with '}'"},
		{in: "a=1,a.b=2", wantErr: "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"},
		{in: "a=1,a[0]=2", wantErr: "unable to parse key: interface conversion: interface {} is int64, not []interface {}"},
		{in: "a=null,a.b=2", wantErr: "unable to parse key: interface conversion: interface {} is nil, not map[string]interface {}"},
		{in: "a[0]=s,a[0][0]=2", wantErr: "unable to parse key: interface conversion: interface {} is string, not []interface {}"},
		{in: strings.Repeat("a.", 31) + "b=1", wantErr: "value name nested level is greater than maximum supported nested level of 30"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseSetVariants(t *testing.T) {
	files := map[string]string{"f1": "one", "f2": "two"}
	read := func(rs []rune) (interface{}, error) {
		s, ok := files[string(rs)]
		if !ok {
			return nil, errors.New("no file " + string(rs))
		}
		return s, nil
	}
	tests := []struct {
		name    string
		parse   func(string, map[string]interface{}) error
		in      string
		want    m
		wantErr string
	}{
		{name: "string", parse: ParseSetString, in: "a=1,b=true,c=null,d.e=0", want: m{"a": "1", "b": "true", "c": "null", "d": m{"e": "0"}}},
		{name: "string list", parse: ParseSetString, in: "a={1,2}", want: m{"a": l{"1", "2"}}},
		{name: "json", parse: ParseSetJSON, in: `a={"b":[1,null]},c="x"`, want: m{"a": m{"b": l{float64(1), nil}}, "c": "x"}},
		{name: "json empty", parse: ParseSetJSON, in: `a=,b=1`, want: m{"a": nil, "b": float64(1)}},
		{name: "json list index", parse: ParseSetJSON, in: `a[1]={"x":1}`, want: m{"a": l{nil, m{"x": float64(1)}}}},
		{name: "json spaces", parse: ParseSetJSON, in: `a= [1] , b=2`, want: m{"a": l{float64(1)}, " b": float64(2)}},
		{name: "json error", parse: ParseSetJSON, in: `a={`, wantErr: "unexpected EOF"},
		{name: "literal", parse: ParseSetLiteral, in: `a.b=x,y=z\,{w}`, want: m{"a": m{"b": `x,y=z\,{w}`}}},
		{name: "literal key escape is literal", parse: ParseSetLiteral, in: `a\b=1`, want: m{`a\b`: "1"}},
		{name: "literal list", parse: ParseSetLiteral, in: `a[1]=x,y`, want: m{"a": l{nil, "x,y"}}},
		{name: "literal no value", parse: ParseSetLiteral, in: `a`, wantErr: `key "a" has no value`},
		{name: "file", parse: func(s string, d map[string]interface{}) error { return ParseSetFile(s, d, read) }, in: "a=f1,b={f1,f2}", want: m{"a": "one", "b": l{"one", "two"}}},
		{name: "file missing", parse: func(s string, d map[string]interface{}) error { return ParseSetFile(s, d, read) }, in: "a=nope", wantErr: "no file nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m{}
			err := tt.parse(tt.in, got)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSetInto(t *testing.T) {
	dest := m{"a": m{"keep": 1}, "l": l{"x"}}
	if err := ParseSet("a.add=2,l[1]=y", dest); err != nil {
		t.Fatal(err)
	}
	want := m{"a": m{"keep": 1, "add": int64(2)}, "l": l{"x", "y"}}
	if diff := cmp.Diff(want, dest); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzParseSet checks the --set parsers never panic and that what they
// accept is a plain values tree (JSON-encodable, as release storage needs).
func FuzzParseSet(f *testing.F) {
	for _, s := range []string{
		"a=b", "a.b=c,d=e", "a[0]=x", "a[0].b[1]=c", `a\.b=c\,d`, "a={1,2,3}", "a=null",
		"a=1,a.b=2", "a[0]=1,a[0][0]=2", "a[", "a=}{", "=", ",", "a[0]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string, map[string]interface{}) error{ParseSet, ParseSetString, ParseSetJSON, ParseSetLiteral} {
			dest := m{}
			if err := parse(s, dest); err != nil {
				continue
			}
			if _, err := json.Marshal(dest); err != nil {
				t.Fatalf("parsed %q into unencodable %#v: %v", s, dest, err)
			}
		}
	})
}
