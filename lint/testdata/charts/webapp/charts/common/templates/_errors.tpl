{{- define "common.errors.upgrade.passwords.empty" -}}
{{- if and .validationErrors .context.Release.IsUpgrade -}}
{{- fail (join "\n" .validationErrors) -}}
{{- end -}}
{{- end -}}
