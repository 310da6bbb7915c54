package render_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

// benchChart generates a chart with n templates of mixed kinds, each
// using named templates, toYaml and value lookups, like real charts do.
func benchChart(n int) *chart.Chart {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "bench", Version: "1.0.0", APIVersion: "v2", AppVersion: "2.0"},
		Values: map[string]interface{}{
			"image":  map[string]interface{}{"repository": "nginx", "tag": "1.25"},
			"labels": map[string]interface{}{"team": "core", "tier": "web"},
			"env":    []interface{}{map[string]interface{}{"name": "A", "value": "1"}, map[string]interface{}{"name": "B", "value": "2"}},
		},
		Templates: []*chart.File{{Name: "templates/_helpers.tpl", Data: []byte(`
{{- define "bench.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
`)}},
	}
	kinds := []string{"ConfigMap", "Service", "Deployment", "Secret", "ServiceAccount"}
	for i := 0; i < n; i++ {
		tpl := fmt.Sprintf(`apiVersion: v1
kind: %s
metadata:
  name: {{ include "bench.fullname" . }}-%d
  labels:
    {{- include "bench.labels" . | nindent 4 }}
spec:
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  env:
    {{- toYaml .Values.env | nindent 4 }}
`, kinds[i%len(kinds)], i)
		ch.Templates = append(ch.Templates, &chart.File{Name: fmt.Sprintf("templates/t%03d.yaml", i), Data: []byte(tpl)})
	}
	return ch
}

func BenchmarkTemplate300(b *testing.B) {
	ch := benchChart(300)
	ctx := context.Background()
	vals := values.Values{"labels": map[string]interface{}{"extra": "x"}}
	b.ReportAllocs()
	for b.Loop() {
		res, err := render.Template(ctx, ch, vals, render.Options{ReleaseName: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Manifests) != 300 {
			b.Fatalf("got %d manifests", len(res.Manifests))
		}
		if err := render.Print(io.Discard, res, render.PrintOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
