{{- define "ptu.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ptu.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ptu.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ptu.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ptu.labels" -}}
{{ include "ptu.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Secret holding admin-token, database-url and redis-url. */}}
{{- define "ptu.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "ptu.fullname" .) -}}
{{- end -}}

{{/* Whether the store is shared (PostgreSQL) and the limiter is Redis:
     with an existing Secret the chart cannot look inside it, so more than
     one replica is taken to mean both keys are there. */}}
{{- define "ptu.hasDatabase" -}}
{{- if or .Values.secrets.databaseURL (and .Values.secrets.existingSecret (gt (int .Values.replicaCount) 1)) }}true{{ end -}}
{{- end -}}
{{- define "ptu.hasRedis" -}}
{{- if or .Values.secrets.redisURL (and .Values.secrets.existingSecret (gt (int .Values.replicaCount) 1)) }}true{{ end -}}
{{- end -}}

{{- define "ptu.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end -}}
{{- end -}}
