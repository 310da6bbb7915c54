{{- define "required.host" -}}
{{ required "db.host is required!" .Values.db.host }}
{{- end -}}
