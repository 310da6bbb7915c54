package registry_test

import (
	"fmt"

	"github.com/chartd/chartd/registry"
)

func ExampleParseReference() {
	ref, err := registry.ParseReference("oci://localhost:5000/charts/nginx:1.2.3+build.4")
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Registry, ref.Repository, ref.Tag)
	fmt.Println(registry.TagToVersion(ref.Tag))
	// Output:
	// localhost:5000 charts/nginx 1.2.3_build.4
	// 1.2.3+build.4
}
