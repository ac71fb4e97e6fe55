{{/* Environment of one service's container; shared by its Deployment and its migrations Job.
     Call with (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "reservex.serviceEnv" -}}
{{- $root := .root -}}
- name: SERVICE_NAME
  value: {{ .name | quote }}
- name: PORT
  value: {{ .svc.port | quote }}
- name: HOST
  value: "0.0.0.0"
- name: DAPR_HTTP_PORT
  value: "3500"
- name: DAPR_GRPC_PORT
  value: "50001"
- name: PUBSUB_NAME
  value: {{ include "reservex.pubsubName" (.appId | default .name) | quote }}
- name: STATESTORE_NAME
  value: statestore
- name: LOCKSTORE_NAME
  value: lockstore
- name: LOG_LEVEL
  value: {{ $root.Values.global.logLevel | quote }}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "reservex.tokenSecret" (dict "root" $root "name" .name "kind" "dapr-api") }}
      key: token
{{- if ne .name "gateway" }}
{{- /* The gateway's port is the public entry: it takes no app token. */}}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "reservex.tokenSecret" (dict "root" $root "name" .name "kind" "app-api") }}
      key: token
{{- end }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .svc.shutdownTimeoutMs | quote }}
{{- with include "reservex.otlpEndpoint" $root }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if .svc.database }}
{{- if eq $root.Values.postgres.mode "cloudnative-pg" }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-db-%s" (include "reservex.fullname" $root) .name }}
      key: password
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s-rw.%s.svc:5432/%s?sslmode=%s" .name (include "reservex.postgresCluster" $root) $root.Release.Namespace .name $root.Values.postgres.cloudnativePg.sslmode | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "postgres.external.urlSecret is required when postgres.mode is external" $root.Values.postgres.external.urlSecret }}
      key: {{ .name }}
{{- end }}
{{- end }}
{{- if .svc.redis }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "reservex.redisPasswordSecret" $root }}
      key: {{ include "reservex.redisPasswordKey" $root }}
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:%s" (include "reservex.redisHost" $root) (include "reservex.redisPort" $root) | quote }}
{{- end }}
{{- if and (eq .name "payment") $root.Values.cardSandbox.enabled }}
{{- /* Payment charges the chart's card sandbox (templates/card-sandbox.yaml). */}}
- name: PAYMENT_PROVIDER_URL
  value: {{ printf "http://%s-card-sandbox:%v" (include "reservex.fullname" $root) $root.Values.cardSandbox.port | quote }}
- name: PAYMENT_PROVIDER_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-card-sandbox" (include "reservex.fullname" $root) }}
      key: api-key
{{- end }}
{{- range $key, $value := .svc.env }}
{{- if and (eq $key "ADMIN_EMAILS") (eq $.name "account") (include "reservex.seedEnabled" $root) }}
{{- /* The seed Job's administrator (values seed.adminEmail). */}}
{{- $value = join "," (compact (list $value $root.Values.seed.adminEmail)) }}
{{- end }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- range $key, $ref := .svc.secretEnv }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "reservex.appSecret" $root }}
      {{- if kindIs "map" $ref }}
      key: {{ $ref.key }}
      optional: {{ $ref.optional | default false }}
      {{- else }}
      key: {{ $ref }}
      {{- end }}
{{- end }}
{{- end -}}
