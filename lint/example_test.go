package lint_test

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/lint"
)

func ExampleDir() {
	for _, m := range lint.Dir(context.Background(), "testdata/charts/chartfile-bad", nil, lint.Options{}) {
		fmt.Println(m)
	}
	// Output:
	// [ERROR] Chart.yaml: apiVersion is required. The value must be either "v1" or "v2"
	// [ERROR] Chart.yaml: version should be of type string but it's of type float64
	// [ERROR] Chart.yaml: appVersion should be of type string but it's of type float64
	// [ERROR] Chart.yaml: each maintainer requires a name
	// [ERROR] Chart.yaml: invalid source URL ''
	// [ERROR] Chart.yaml: invalid icon URL 'not a url'
	// [INFO] values.yaml: file does not exist
}
