package intake_test

import (
	"fmt"

	"github.com/chartd/chartd/intake"
)

// The naming rule, as every protocol applies it to a chart's repository.
func ExampleCheckRepository() {
	for _, r := range [][2]string{
		{"org/team", "nginx"},
		{"", "MyChart"},
		{"org/charts", "nginx"},
		{"team\nx", "nginx"},
	} {
		fmt.Println(intake.CheckRepository(r[0], r[1]))
	}
	// Output:
	// <nil>
	// invalid name: chart name "MyChart" is not a valid OCI name component (lower-case letters and digits, separated by '.', '_', '__' or dashes), so the chart could not be served over OCI
	// invalid name: repository path "org/charts": "charts" is reserved for chartd's own routes (reserved: api, charts, health, info, metrics, ui, v2, index.yaml, index.json, signing-key.asc, keys, prov)
	// invalid name: repository path "team\nx": segment "team\nx" is not a valid OCI name component (lower-case letters and digits, separated by '.', '_', '__' or dashes)
}
