{{- define "frobnitz.fullname" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end -}}
