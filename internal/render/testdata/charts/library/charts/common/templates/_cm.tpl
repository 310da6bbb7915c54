{{- define "common.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name }}
data:
  chart: {{ .Chart.Name }}
  lib: {{ .Values.common.libDefault | quote }}
{{- end -}}
