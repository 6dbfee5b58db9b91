{{/* Names and labels. */}}
{{- define "keybroker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keybroker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "keybroker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: {{ include "keybroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of the KBS pods and objects: the common labels plus name and component. */}}
{{- define "keybroker.kbsLabels" -}}
{{ include "keybroker.labels" . }}
app.kubernetes.io/name: {{ include "keybroker.name" . }}
app.kubernetes.io/component: kbs
{{- end -}}

{{/* Selects the KBS pods of this release (a subset of keybroker.kbsLabels). */}}
{{- define "keybroker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keybroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: kbs
{{- end -}}

{{- define "keybroker.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Where each secret comes from: an existing Secret, or the one this chart makes (<fullname>). */}}
{{- define "keybroker.adminSecret" -}}
{{- default (include "keybroker.fullname" .) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "keybroker.signerSecret" -}}
{{- default (include "keybroker.fullname" .) .Values.tokenSigner.existingSecret -}}
{{- end -}}

{{- define "keybroker.hasSigner" -}}
{{- if or .Values.tokenSigner.privateKey .Values.tokenSigner.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "keybroker.hasSignerCert" -}}
{{- if or .Values.tokenSigner.certificate (and .Values.tokenSigner.existingSecret .Values.tokenSigner.hasCertificate) -}}true{{- end -}}
{{- end -}}

{{- define "keybroker.postgresHost" -}}
{{- printf "%s-postgres" (include "keybroker.fullname" .) -}}
{{- end -}}

{{- define "keybroker.redisHost" -}}
{{- printf "%s-redis" (include "keybroker.fullname" .) -}}
{{- end -}}

{{- define "keybroker.postgresUrlSecret" -}}
{{- if .Values.storage.postgres.bundled.enabled -}}
{{- include "keybroker.fullname" . -}}
{{- else -}}
{{- .Values.storage.postgres.external.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "keybroker.postgresUrlKey" -}}
{{- if .Values.storage.postgres.bundled.enabled -}}POSTGRES_URL{{- else -}}{{ .Values.storage.postgres.external.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "keybroker.redisUrlSecret" -}}
{{- if .Values.sessions.redis.bundled.enabled -}}
{{- include "keybroker.fullname" . -}}
{{- else -}}
{{- .Values.sessions.redis.external.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "keybroker.redisUrlKey" -}}
{{- if .Values.sessions.redis.bundled.enabled -}}REDIS_URL{{- else -}}{{ .Values.sessions.redis.external.existingSecretKey }}{{- end -}}
{{- end -}}

{{/*
Refuse values that would give a broken or unsafe deployment, with a message saying what to set. Included by the
ConfigMap, so `helm template` / `helm install` stop before anything is created.
*/}}
{{- define "keybroker.validate" -}}
{{- $st := .Values.storage.type -}}
{{- if not (has $st (list "localFs" "postgres")) -}}
{{- fail (printf "storage.type must be localFs or postgres, not %q" $st) -}}
{{- end -}}
{{- if not (has .Values.sessions.type (list "" "redis")) -}}
{{- fail (printf "sessions.type must be \"\" or redis, not %q" .Values.sessions.type) -}}
{{- end -}}
{{- if and (eq $st "localFs") (gt (int .Values.replicaCount) 1) -}}
{{- fail "storage.type=localFs keeps state on one pod's volume: set replicaCount=1, or storage.type=postgres for several replicas" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "keybroker.hasSigner" .)) -}}
{{- fail "replicaCount > 1 needs one token-signing key shared by all replicas: set tokenSigner.privateKey (--set-file) or tokenSigner.existingSecret" -}}
{{- end -}}
{{- if not (or .Values.admin.publicKey .Values.admin.existingSecret) -}}
{{- fail "admin.publicKey (--set-file admin.publicKey=admin-key.pub.pem) or admin.existingSecret is required" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.enabled=true needs tls.secretName (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- if eq $st "postgres" -}}
{{- if .Values.storage.postgres.bundled.enabled -}}
{{- if not .Values.storage.postgres.bundled.password -}}
{{- fail "storage.postgres.bundled.password is required (or bundled.enabled=false with external.existingSecret)" -}}
{{- end -}}
{{- else if not .Values.storage.postgres.external.existingSecret -}}
{{- fail "storage.postgres.external.existingSecret (a Secret with POSTGRES_URL) is required when bundled.enabled=false" -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.sessions.type "redis" -}}
{{- if .Values.sessions.redis.bundled.enabled -}}
{{- if not .Values.sessions.redis.bundled.password -}}
{{- fail "sessions.redis.bundled.password is required (or bundled.enabled=false with external.existingSecret)" -}}
{{- end -}}
{{- else if not .Values.sessions.redis.external.existingSecret -}}
{{- fail "sessions.redis.external.existingSecret (a Secret with REDIS_URL) is required when bundled.enabled=false" -}}
{{- end -}}
{{- end -}}
{{- end -}}
