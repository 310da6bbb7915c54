package render_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetParserMatchesHelm feeds tricky --set family arguments to real
// helm and to ours and requires the same values (or the same error).
func TestSetParserMatchesHelm(t *testing.T) {
	dir, err := filepath.Abs("testdata/charts")
	if err != nil {
		t.Fatal(err)
	}
	hv := helmVersion(t)
	tests := []struct {
		flag string
		vals []string
	}{
		{"--set", []string{`a=b`, `a=1,b=2`, `a.b.c=d`, `a\.b=c`, `a=b\,c`, `a=b\\`, `a\=b=c`, `a={}`, `a={,}`, `a={a\,b,c}`, `a={x}y=1`}},
		{"--set", []string{`a[0]=1,a[3]=4`, `a[0]`, `a[0].b=1,a[0].c=2`, `a[0][0][0]=deep`, `a[1].b[1].c=x`, `a=`, `a=,`, `=x`, `.a=1`, `a..b=1`}},
		{"--set", []string{`a=true`, `a=True`, `a=null`, `a=Null`, `a=0`, `a=00`, `a=-0`, `a=+5`, `a=1e3`, `a=0x10`, `a=1_000`, `a= 1`, `a=1 `}},
		{"--set", []string{`a=1,a.b=2`, `a.b=1,a=2`, `a={1},a[1]=2`, `a[0]=1,a.b=2`, `a[0]=x,a[0].b=1`, `a]=1`, `a[0]]=1`, `a[[0]=1`, `a=1,,b=2`}},
		{"--set-string", []string{`a=true,b=1,c=null`, `a={1,true}`, `a[0]=1`}},
		{"--set-json", []string{`a=1`, `a={"b": [1, {"c": null}]}`, `a=`, `a="s",b=[1]`, `a[0]={"x":1}`, `a=1 2`, `a=nul`, `a={}`, `a=[1,2]b=1`}},
		{"--set-literal", []string{`a=b,c=d`, `a.b=\,x`, `a[1]=v`, `a`, `a.=b`, `a=1,a.b=2`}},
	}
	ctx := context.Background()
	for _, group := range tests {
		for _, v := range group.vals {
			args := []string{"setdump", group.flag, v}
			t.Run(group.flag+"/"+v, func(t *testing.T) {
				t.Parallel()
				want := realHelm(t, dir, args)
				got := helmTemplate(ctx, t, dir, args, hv)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %q (-helm +ours):\n%s", group.flag, v, diff)
				}
			})
		}
	}
}
