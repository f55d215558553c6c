{{- define "authproxy.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "authproxy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "authproxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "authproxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "authproxy.labels" -}}
{{ include "authproxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "authproxy.replicas" -}}
{{- if eq .Values.mode "sqlite" -}}1{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* The settings a deployment cannot run without, checked at render time. */}}
{{- define "authproxy.validate" -}}
{{- if not (has .Values.mode (list "sqlite" "shared")) -}}
{{- fail "mode must be sqlite or shared" -}}
{{- end -}}
{{- if eq .Values.mode "shared" -}}
{{- if not .Values.secrets.sealingKeys.existingSecret -}}
{{- fail "mode shared: set secrets.sealingKeys.existingSecret (every replica must seal with the same keys)" -}}
{{- end -}}
{{- if not .Values.secrets.database.existingSecret -}}
{{- fail "mode shared: set secrets.database.existingSecret (a Secret holding the PostgreSQL URL)" -}}
{{- end -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownDelaySeconds) 70 | int) -}}
{{- fail "terminationGracePeriodSeconds must be at least shutdownDelaySeconds + 70 (the longest long poll, 60 s, and 10 s of drain)" -}}
{{- end -}}
{{- if and (eq .Values.mode "sqlite") .Values.autoscaling.enabled -}}
{{- fail "mode sqlite runs one replica: autoscaling needs mode shared (PostgreSQL and Redis)" -}}
{{- end -}}
{{- end -}}
