package values

import (
	"errors"
	"testing"
)

const testSchema = `{
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": "string"},
    "port": {"type": "integer", "maximum": 65535}
  }
}`

func TestValidateAgainstSchema(t *testing.T) {
	sub := newChart("sub", nil)
	sub.Schema = []byte(`{"type":"object","properties":{"x":{"type":"boolean"}}}`)
	parent := newChart("parent", nil, sub)
	parent.Schema = []byte(testSchema)

	tests := []struct {
		name string
		vals m
		want string
	}{
		{name: "valid", vals: m{"name": "a", "port": int64(80), "sub": m{"x": true}}},
		{name: "int64 and float64 both integers", vals: m{"name": "a", "port": float64(80)}},
		{name: "missing required", vals: m{}, want: "parent:\n- at '': missing property 'name'\n"},
		{name: "type", vals: m{"name": 1}, want: "parent:\n- at '/name': got number, want string\n"},
		{name: "subchart", vals: m{"name": "a", "sub": m{"x": "no"}}, want: "sub:\n- at '/x': got string, want boolean\n"},
		{name: "subchart not a map", vals: m{"name": "a", "sub": "str"}, want: "sub:\ninvalid type for values: expected object (map), got string\n"},
		{name: "subchart null skipped", vals: m{"name": "a", "sub": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAgainstSchema(parent, tt.vals)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %q\nwant %q", err, tt.want)
			}
			if !errors.Is(err, ErrSchema) {
				t.Errorf("error does not match ErrSchema")
			}
		})
	}
}

func TestValidateAgainstSingleSchemaBadSchema(t *testing.T) {
	if err := ValidateAgainstSingleSchema(m{}, []byte("{")); err == nil {
		t.Fatal("invalid schema JSON accepted")
	}
	// An unresolvable urn: reference is permissive, as in Helm.
	s := []byte(`{"properties":{"a":{"$ref":"urn:example:unknown"}}}`)
	if err := ValidateAgainstSingleSchema(m{"a": 1}, s); err != nil {
		t.Fatalf("urn ref: %v", err)
	}
}
