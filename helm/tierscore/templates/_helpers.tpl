{{/* Names and labels as `helm create` makes them. */}}
{{- define "tierscore.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, cut to 40 characters: components append at
most 16 ("-worker-headless"), and the Redis StatefulSet's pods need a name
of at most 52. */}}
{{- define "tierscore.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tierscore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tierscore.labels" -}}
helm.sh/chart: {{ include "tierscore.chart" . }}
{{ include "tierscore.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tierscore.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tierscore.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* A component's labels and selector labels: include with
(dict "ctx" $ "component" "worker"). */}}
{{- define "tierscore.componentLabels" -}}
{{ include "tierscore.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tierscore.componentSelector" -}}
{{ include "tierscore.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tierscore.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tierscore.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tierscore.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Resource names, one home each. */}}
{{- define "tierscore.coordinator" -}}{{ include "tierscore.fullname" . }}-coordinator{{- end }}
{{- define "tierscore.worker" -}}{{ include "tierscore.fullname" . }}-worker{{- end }}
{{- define "tierscore.workerHeadless" -}}{{ include "tierscore.fullname" . }}-worker-headless{{- end }}
{{- define "tierscore.redis" -}}{{ include "tierscore.fullname" . }}-redis{{- end }}
{{- define "tierscore.config" -}}{{ include "tierscore.fullname" . }}-config{{- end }}
{{- define "tierscore.dataClaim" -}}
{{- default (printf "%s-data" (include "tierscore.fullname" .)) .Values.data.existingClaim }}
{{- end }}
{{- define "tierscore.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "tierscore.fullname" .)) .Values.auth.existingSecret }}
{{- end }}
{{- define "tierscore.redisSecret" -}}
{{- default (printf "%s-redis" (include "tierscore.fullname" .)) .Values.redis.existingSecret }}
{{- end }}
{{- define "tierscore.tlsSecret" -}}
{{- $ctx := .ctx }}
{{- if eq $ctx.Values.tls.source "existing" }}
{{- index $ctx.Values.tls.existingSecrets .component }}
{{- else }}
{{- printf "%s-%s-tls" (include "tierscore.fullname" $ctx) .component }}
{{- end }}
{{- end }}

{{/* The coordinator's API address inside the cluster. */}}
{{- define "tierscore.coordinatorTarget" -}}
{{ include "tierscore.coordinator" . }}.{{ .Release.Namespace }}.svc:{{ .Values.coordinator.port }}
{{- end }}

{{/* The Redis address the servers use. */}}
{{- define "tierscore.redisAddress" -}}
{{- if .Values.redis.bundled }}
{{- printf "redis://%s.%s.svc:6379/0" (include "tierscore.redis" .) .Release.Namespace }}
{{- else }}
{{- required "redis.external.address is required when redis.bundled is false" .Values.redis.external.address }}
{{- end }}
{{- end }}

{{/* Mount points inside the containers, one home each. */}}
{{- define "tierscore.tlsDir" -}}/etc/tierscore/tls{{- end }}
{{- define "tierscore.tokensDir" -}}/etc/tierscore/tokens{{- end }}
{{- define "tierscore.redisDir" -}}/etc/tierscore/redis{{- end }}
{{- define "tierscore.policiesDir" -}}/etc/tierscore/policies{{- end }}
{{- define "tierscore.kpisDir" -}}/etc/tierscore/kpis{{- end }}

{{/* The pods' common spec parts. */}}
{{- define "tierscore.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}
{{- define "tierscore.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* A gRPC probe of the health port: include with
(dict "port" 7001 "service" "tierscore.v1.Worker" "period" 10 "failures" 3). */}}
{{- define "tierscore.grpcProbe" -}}
grpc:
  port: {{ .port }}
  {{- with .service }}
  service: {{ . }}
  {{- end }}
periodSeconds: {{ .period }}
failureThreshold: {{ .failures }}
timeoutSeconds: 2
{{- end }}

{{/* The client side of TLS and tokens for pods that run the CLI (the
scheduled job, helm test): env, volumeMounts and volumes. */}}
{{- define "tierscore.clientEnv" -}}
- name: TIERSCORE_TARGET
  value: {{ include "tierscore.coordinatorTarget" . | quote }}
{{- if .Values.tls.enabled }}
- name: TIERSCORE_TLS_CA
  value: {{ include "tierscore.tlsDir" . }}/ca.crt
{{- else }}
- name: TIERSCORE_INSECURE
  value: "1"
{{- end }}
{{- if .Values.auth.enabled }}
- name: TIERSCORE_TOKEN_FILE
  value: {{ include "tierscore.tokensDir" . }}/token
{{- end }}
{{- end }}
{{- define "tierscore.clientMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.enabled }}
- name: ca
  mountPath: {{ include "tierscore.tlsDir" . }}
  readOnly: true
{{- end }}
{{- if .Values.auth.enabled }}
- name: token
  mountPath: {{ include "tierscore.tokensDir" . }}
  readOnly: true
{{- end }}
{{- end }}
{{/* include with (dict "ctx" $ "token" "cronjob") */}}
{{- define "tierscore.clientVolumes" -}}
- name: tmp
  emptyDir: {}
{{- if .ctx.Values.tls.enabled }}
- name: ca
  secret:
    secretName: {{ include "tierscore.tlsSecret" (dict "ctx" .ctx "component" "coordinator") }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
{{- if .ctx.Values.auth.enabled }}
- name: token
  secret:
    secretName: {{ include "tierscore.tokensSecret" .ctx }}
    items: [{key: {{ .token }}, path: token}]
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rules (networkpolicy.yaml). */}}
{{- define "tierscore.dnsEgress" -}}
- to: {{- toYaml .Values.networkPolicy.dns.to | nindent 4 }}
  ports: {{- toYaml .Values.networkPolicy.dns.ports | nindent 4 }}
{{- end }}
{{- define "tierscore.redisEgress" -}}
{{- if .Values.redis.bundled }}
- to:
    - podSelector:
        matchLabels: {{- include "tierscore.componentSelector" (dict "ctx" . "component" "redis") | nindent 10 }}
  ports:
    - {port: 6379, protocol: TCP}
{{- else }}
{{- if not .Values.networkPolicy.externalRedis }}
{{- fail "networkPolicy.externalRedis must name the external Redis (NetworkPolicy peers), or set networkPolicy.enabled=false" }}
{{- end }}
{{- $port := regexFind "[0-9]+" (regexFind ":[0-9]+(/|$)" .Values.redis.external.address) | default "6379" }}
- to: {{- toYaml .Values.networkPolicy.externalRedis | nindent 4 }}
  ports:
    - {port: {{ $port }}, protocol: TCP}
{{- end }}
{{- end }}
