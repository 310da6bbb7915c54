package server_test

import (
	"fmt"

	"github.com/chartd/chartd/server"
)

// A tenant is --depth path segments; the ChartMuseum route follows it.
func ExampleTenancy_Parse() {
	t := server.Tenancy{Depth: 2}
	r, err := t.Parse("/api/org/team/charts/webapp/1.4.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("tenant %q, chart %s, version %s\n", r.Repo, r.Name, r.Version)
	_, err = t.Parse("/org/index.yaml")
	fmt.Println(err)
	// Output:
	// tenant "org/team", chart webapp, version 1.4.2
	// no such route
}

// Validate reports every problem at once, so an operator fixes a broken
// deployment in one pass.
func ExampleConfig_Validate() {
	c := server.DefaultConfig()
	c.Depth = -1
	c.SignaturePolicy = "sometimes"
	fmt.Println(c.Validate())
	// Output:
	// depth -1 must not be negative
	// signature-policy "sometimes" must be off, verify or required
}
