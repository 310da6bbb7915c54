{{- define "web.helper" -}}web-helper-{{ .Chart.Name }}{{- end -}}
{{- define "shared.name" -}}web-{{ .Chart.Name }}{{- end -}}
