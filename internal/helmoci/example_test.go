package helmoci_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/helmoci"
)

func ExampleManifest() {
	meta := &chart.Metadata{APIVersion: "v2", Name: "web", Version: "1.0.0+build.1", Description: "A web server"}
	config, err := helmoci.Config(meta)
	if err != nil {
		log.Fatal(err)
	}
	tgz := ocispec.Descriptor{Digest: digest.FromString("the chart archive"), Size: 1234}
	m := helmoci.Manifest(meta, ocispec.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))}, tgz, nil,
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	manifest, _ := json.Marshal(m)
	var out bytes.Buffer
	_ = json.Indent(&out, manifest, "", "  ")
	fmt.Println(string(config))
	fmt.Println(out.String())
	fmt.Println("tag:", helmoci.Tag(meta.Version))
	// Output:
	// {"name":"web","version":"1.0.0+build.1","description":"A web server","apiVersion":"v2"}
	// {
	//   "schemaVersion": 2,
	//   "config": {
	//     "mediaType": "application/vnd.cncf.helm.config.v1+json",
	//     "digest": "sha256:561d92e5f07199fb2d33b152e6bcb7ac127791a1c6eebb8abd408398ffcb5a91",
	//     "size": 87
	//   },
	//   "layers": [
	//     {
	//       "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
	//       "digest": "sha256:eac6f5384ae512cc0a0572fc184e18d6af1e03a44a9c37f5df0fa7a2ac31b2fb",
	//       "size": 1234
	//     }
	//   ],
	//   "annotations": {
	//     "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
	//     "org.opencontainers.image.description": "A web server",
	//     "org.opencontainers.image.title": "web",
	//     "org.opencontainers.image.version": "1.0.0+build.1"
	//   }
	// }
	// tag: 1.0.0_build.1
}

func ExampleParseManifest() {
	manifest := []byte(`{"schemaVersion":2,
		"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json; charset=utf-8","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},
		"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}]}`)
	l, err := helmoci.ParseManifest(manifest)
	fmt.Println(err, l.Chart.Digest.Encoded()[:12], l.Prov == nil)
	_, err = helmoci.ParseManifest([]byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"}}`))
	fmt.Println(err)
	// Output:
	// <nil> e3b0c44298fc true
	// not a Helm chart: config media type "application/vnd.oci.image.config.v1+json"
}
