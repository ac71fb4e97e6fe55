{{/* Names and labels shared by every template. */}}

{{- define "reservex.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "reservex.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: reservex
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Labels of one service's objects. Call with (dict "root" $ "name" $name). */}}
{{- define "reservex.serviceLabels" -}}
{{ include "reservex.labels" .root }}
app.kubernetes.io/name: {{ .name | quote }}
app.kubernetes.io/component: {{ .component | default "service" }}
{{- end -}}

{{- define "reservex.selectorLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/name: {{ .name | quote }}
{{- end -}}

{{/* Object name of one service: <fullname>-<service>. */}}
{{- define "reservex.serviceName" -}}
{{- printf "%s-%s" (include "reservex.fullname" .root) .name -}}
{{- end -}}

{{- define "reservex.image" -}}
{{- $tag := .root.Values.global.imageTag | default .root.Chart.AppVersion -}}
{{- printf "%s/reservex-%s:%s" .root.Values.global.imageRegistry .name $tag -}}
{{- end -}}

{{/* Dapr app-id of a service: its name, the same as in the local stack and the contracts. */}}
{{- define "reservex.appId" -}}
{{- .name -}}
{{- end -}}

{{- define "reservex.kafkaCluster" -}}{{ include "reservex.fullname" . }}-kafka{{- end -}}
{{- define "reservex.kafkaUser" -}}{{ include "reservex.fullname" . }}-dapr{{- end -}}
{{- define "reservex.postgresCluster" -}}{{ include "reservex.fullname" . }}-postgres{{- end -}}
{{- define "reservex.redisName" -}}{{ include "reservex.fullname" . }}-redis{{- end -}}
{{- define "reservex.jaegerName" -}}{{ include "reservex.fullname" . }}-jaeger{{- end -}}
{{- define "reservex.appSecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-app" (include "reservex.fullname" .)) -}}
{{- end -}}

{{- define "reservex.kafkaBrokers" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9092" (include "reservex.kafkaCluster" .) .Release.Namespace -}}
{{- else -}}
{{- required "kafka.external.brokers is required when kafka.mode is external" .Values.kafka.external.brokers -}}
{{- end -}}
{{- end -}}

{{- define "reservex.redisHost" -}}
{{- if eq .Values.redis.mode "deployed" -}}
{{- printf "%s.%s.svc" (include "reservex.redisName" .) .Release.Namespace -}}
{{- else -}}
{{- required "redis.external.host is required when redis.mode is external" .Values.redis.external.host -}}
{{- end -}}
{{- end -}}

{{- define "reservex.redisPort" -}}
{{- if eq .Values.redis.mode "deployed" }}6379{{ else }}{{ .Values.redis.external.port }}{{ end -}}
{{- end -}}

{{/* Secret name and key holding the Redis password. */}}
{{- define "reservex.redisPasswordSecret" -}}
{{- if eq .Values.redis.mode "deployed" -}}
{{- include "reservex.redisName" . -}}
{{- else -}}
{{- required "redis.external.passwordSecret is required when redis.mode is external" .Values.redis.external.passwordSecret -}}
{{- end -}}
{{- end -}}
{{- define "reservex.redisPasswordKey" -}}
{{- if eq .Values.redis.mode "deployed" }}redis-password{{ else }}{{ .Values.redis.external.passwordKey }}{{ end -}}
{{- end -}}

{{- define "reservex.otlpEndpoint" -}}
{{- if .Values.jaeger.otlpEndpoint -}}
{{- .Values.jaeger.otlpEndpoint -}}
{{- else if .Values.jaeger.enabled -}}
{{- printf "http://%s.%s.svc:4318" (include "reservex.jaegerName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Secret of a service's Dapr API token ("dapr-api") or app API token ("app-api"), key `token`:
     (dict "root" $ "name" $name "kind" "dapr-api"). */}}
{{- define "reservex.tokenSecret" -}}
{{- printf "%s-%s-%s-token" (include "reservex.fullname" .root) .name .kind -}}
{{- end -}}

{{/* Name of a service's Dapr Configuration (its access control): (dict "root" $ "name" $name). */}}
{{- define "reservex.daprConfigName" -}}
{{- printf "%s-%s" .root.Values.dapr.configName .name -}}
{{- end -}}

{{/* Topic scopes of the pub/sub component from files/access.json (the contracts' topology), in
     Dapr's `app=topic,topic;app=` form: (dict "root" $ "key" "publishes"|"subscribes"). The read-model
     rebuild's sidecar gets query's scopes. */}}
{{- define "reservex.topicScopes" -}}
{{- $access := .root.Files.Get "files/access.json" | fromJson -}}
{{- $scopes := index $access .key -}}
{{- $entries := list -}}
{{- range $app := keys $scopes | sortAlpha -}}
{{- $entries = append $entries (printf "%s=%s" $app (join "," (index $scopes $app))) -}}
{{- end -}}
{{- with include "reservex.queryRebuildAppId" .root -}}
{{- $entries = append $entries (printf "%s=%s" . (join "," (index $scopes "query"))) -}}
{{- end -}}
{{- join ";" $entries -}}
{{- end -}}

{{/* Password of a generated secret: the value given, else the one already in the cluster, else random. */}}
{{- define "reservex.keepOrGenerate" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if .value -}}
{{- .value | b64enc -}}
{{- else if and $existing (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}

{{/* App-ids of the enabled services that use a Dapr component, as a YAML list. */}}
{{- define "reservex.scopes" -}}
{{- $component := .component -}}
{{- range $name, $svc := .root.Values.services }}
{{- if and $svc.enabled (has $component $svc.dapr.uses) }}
- {{ $name }}
{{- end }}
{{- end }}
{{- if and (eq $component "pubsub") (include "reservex.queryRebuildAppId" .root) }}
- {{ include "reservex.queryRebuildAppId" .root }}
{{- end }}
{{- end -}}

{{/* Dapr app-id of the read-model rebuild Job, when one is enabled; empty otherwise. */}}
{{- define "reservex.queryRebuildAppId" -}}
{{- if and .Values.queryRebuild.enabled .Values.services.query.enabled -}}
query-rebuild-{{ required "queryRebuild.id is required when queryRebuild.enabled (a new one for every rebuild)" .Values.queryRebuild.id }}
{{- end -}}
{{- end -}}

{{/* Pod security context and container security context merged with the service's overrides. */}}
{{- define "reservex.podSecurityContext" -}}
{{- toYaml (merge (deepCopy (.svc.podSecurityContext | default dict)) .root.Values.serviceDefaults.podSecurityContext) -}}
{{- end -}}
{{- define "reservex.securityContext" -}}
{{- toYaml (merge (deepCopy (.svc.securityContext | default dict)) .root.Values.serviceDefaults.securityContext) -}}
{{- end -}}
