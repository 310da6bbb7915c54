{{/* Expand the name. */}}
{{- define "include.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "include.labels" -}}
app: {{ include "include.name" . }}
{{- range $k, $v := .Values.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}

{{- define "include.recursive" -}}
{{- if gt (int .n) 0 -}}
{{ .n }},{{ include "include.recursive" (dict "n" (sub (int .n) 1)) }}
{{- end -}}
{{- end -}}
