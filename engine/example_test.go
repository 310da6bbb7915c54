package engine_test

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/values"
)

func ExampleEngine_Render() {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "hello", Version: "0.1.0"},
		Templates: []*chart.File{
			{Name: "templates/_helpers.tpl", Data: []byte(`{{ define "hello.name" }}{{ .Release.Name }}-{{ .Chart.Name }}{{ end }}`)},
			{Name: "templates/cm.yaml", Data: []byte(`name: {{ include "hello.name" . }}
greeting: {{ .Values.greeting | upper }}
missing: "{{ .Values.nothing }}"`)},
		},
	}
	top := values.Values{
		"Values":       values.Values{"greeting": "hi"},
		"Release":      map[string]interface{}{"Name": "demo"},
		"Capabilities": engine.DefaultCapabilities(),
	}
	out, err := engine.Engine{}.Render(context.Background(), ch, top)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Partials (files starting with "_") are not in the output.
	fmt.Println(len(out))
	fmt.Println(out["hello/templates/cm.yaml"])
	// Output:
	// 1
	// name: demo-hello
	// greeting: HI
	// missing: ""
}
