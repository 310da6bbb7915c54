package values_test

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/values"
)

func ExampleParseSet() {
	dest := map[string]interface{}{}
	err := values.ParseSet(`image.tag=1.2,replicas=3,hosts={a,b},path\.with\.dots=x,list[1]=y`, dest)
	fmt.Println(err)
	v := values.Values(dest)
	out, _ := v.YAML()
	fmt.Print(out)
	// Output:
	// <nil>
	// hosts:
	// - a
	// - b
	// image:
	//   tag: "1.2"
	// list:
	// - null
	// - "y"
	// path.with.dots: x
	// replicas: 3
}

func ExampleCoalesceValues() {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "web", Version: "1.0.0"},
		Values:   map[string]interface{}{"replicas": 1, "debug": true, "image": map[string]interface{}{"tag": "latest"}},
	}
	// User values win; null deletes a default.
	v, _ := values.CoalesceValues(ch, map[string]interface{}{"replicas": 3, "debug": nil})
	out, _ := v.YAML()
	fmt.Print(out)
	// Output:
	// image:
	//   tag: latest
	// replicas: 3
}

func ExampleOptions_MergeValues() {
	opt := values.Options{
		Values:       []string{"a=1,b=x"},
		StringValues: []string{"a=1"},
	}
	v, _ := opt.MergeValues(context.Background(), nil)
	fmt.Printf("%T %T\n", v["a"], v["b"])
	// Output: string string
}
