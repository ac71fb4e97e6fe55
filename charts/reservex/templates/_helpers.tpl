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
{{/* The KafkaUser (and the Secret Strimzi writes its password to) an app's sidecar connects as:
     (dict "root" $ "appId" $appId). */}}
{{- define "reservex.kafkaUser" -}}{{ include "reservex.fullname" .root }}-{{ .appId }}-kafka{{- end -}}
{{/* The pub/sub component of one app: each app has its own, with its own Kafka identity. */}}
{{- define "reservex.pubsubName" -}}pubsub-{{ . }}{{- end -}}
{{- define "reservex.postgresCluster" -}}{{ include "reservex.fullname" . }}-postgres{{- end -}}
{{- define "reservex.redisName" -}}{{ include "reservex.fullname" . }}-redis{{- end -}}
{{- define "reservex.jaegerName" -}}{{ include "reservex.fullname" . }}-jaeger{{- end -}}
{{- define "reservex.appSecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-app" (include "reservex.fullname" .)) -}}
{{- end -}}

{{- define "reservex.kafkaBrokers" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9093" (include "reservex.kafkaCluster" .) .Release.Namespace -}}
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

{{/* "true" when the seed Job runs (it needs inventory, and the gateway and account it signs in through). */}}
{{- define "reservex.seedEnabled" -}}
{{- if and .Values.seed.enabled .Values.services.inventory.enabled .Values.services.gateway.enabled .Values.services.account.enabled -}}true{{- end -}}
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

{{/* Generated secrets. Every password and key the release generates (database and Redis passwords, the
     app keys, ...) derives from one random seed: sha256(seed + "/" + purpose). The seed is
     secrets.seed when given (Tilt passes the one k8s/bootstrap.sh generated), else the one an earlier
     install kept in the seed Secret (lookup; helm install/upgrade), else a new random one. A render
     therefore gives the same secrets as the last one, so an upgrade or a Tilt reload rolls nothing.
     To add a secret: (include "reservex.generatedSecret" (dict "root" $ "purpose" "<unique-name>"))
     where its value is needed, in a Secret the chart renders; nothing else to set up. */}}
{{- define "reservex.seedSecret" -}}{{ include "reservex.fullname" . }}-secrets-seed{{- end -}}

{{- define "reservex.secretsSeed" -}}
{{- if not .Values.secrets.seed -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "reservex.seedSecret" .) -}}
{{- $seed := "" -}}
{{- if and $existing $existing.data (hasKey $existing.data "seed") -}}
{{- $seed = index $existing.data "seed" | b64dec -}}
{{- else -}}
{{- $seed = randAlphaNum 48 -}}
{{- end -}}
{{- /* Kept in the values so that every template of this render derives from the same seed. */}}
{{- $_ := set .Values.secrets "seed" $seed -}}
{{- end -}}
{{- .Values.secrets.seed -}}
{{- end -}}

{{/* One generated secret (plain text): the value given, else derived from the seed and its purpose.
     Call with (dict "root" $ "purpose" "redis-password" "value" .Values.redis.password). */}}
{{- define "reservex.generatedSecret" -}}
{{- .value | default (printf "%s/%s" (include "reservex.secretsSeed" .root) .purpose | sha256sum) -}}
{{- end -}}

{{/* Database password of a service (CloudNativePG role). Call with (dict "root" $ "name" $name). */}}
{{- define "reservex.databasePassword" -}}
{{- include "reservex.generatedSecret" (dict "root" .root "purpose" (printf "database/%s" .name)) -}}
{{- end -}}

{{- define "reservex.redisPassword" -}}
{{- include "reservex.generatedSecret" (dict "root" . "purpose" "redis-password" "value" .Values.redis.password) -}}
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


{{/* Checksum of the secrets one service reads. Call with (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "reservex.secretsChecksum" -}}
{{- $parts := list (include (print .root.Template.BasePath "/services/secret.yaml") .root) -}}
{{- if and .svc.database (eq .root.Values.postgres.mode "cloudnative-pg") -}}
{{- $parts = append $parts (include "reservex.databasePassword" .) -}}
{{- end -}}
{{- if and .svc.redis (eq .root.Values.redis.mode "deployed") -}}
{{- $parts = append $parts (include "reservex.redisPassword" .root) -}}
{{- end -}}
{{- join "\n" $parts | sha256sum | trunc 16 -}}
{{- end -}}

{{/* Annotations that give a pod its Dapr sidecar: (dict "root" $ "name" $name "svc" $svc "appId" $appId),
     optionally "configName" (the Dapr Configuration, default the service's own). The sidecar takes the
     service's tokens. */}}
{{- define "reservex.daprAnnotations" -}}
{{- $ := .root -}}
{{- $sidecar := $.Values.dapr.sidecar -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ .appId | quote }}
dapr.io/app-port: {{ .svc.port | quote }}
dapr.io/app-protocol: http
dapr.io/config: {{ include "reservex.daprConfigName" (dict "root" $ "name" (.configName | default .name)) | quote }}
dapr.io/log-level: {{ $sidecar.logLevel | quote }}
dapr.io/log-as-json: "true"
dapr.io/enable-app-health-check: "true"
dapr.io/app-health-check-path: /healthz
{{- /* The sidecar answers only its app, and the app only its sidecar (see dapr-tokens.yaml). */}}
dapr.io/api-token-secret: {{ include "reservex.tokenSecret" (dict "root" $ "name" .name "kind" "dapr-api") | quote }}
dapr.io/app-token-secret: {{ include "reservex.tokenSecret" (dict "root" $ "name" .name "kind" "app-api") | quote }}
{{- if not $.Values.serviceAccount.automountToken }}
{{- /* In Kubernetes mode daprd loads its built-in Kubernetes secret store first, with the pod's
       service account token, and exits when it cannot. Without a token it must not try: the
       components' secretKeyRef are resolved by the Dapr operator, not by the sidecar. */}}
dapr.io/disable-builtin-k8s-secret-store: "true"
{{- end }}
{{- /* After SIGTERM the sidecar keeps serving (invocation, publishing: the outbox flushes) until the
       app has drained and stops answering its health check, at most blockShutdownSeconds; then its
       own graceful shutdown. */}}
dapr.io/block-shutdown-duration: {{ printf "%ds" (int $sidecar.blockShutdownSeconds) | quote }}
dapr.io/graceful-shutdown-seconds: {{ $sidecar.gracefulShutdownSeconds | quote }}
dapr.io/sidecar-cpu-request: {{ $sidecar.resources.requests.cpu | quote }}
dapr.io/sidecar-memory-request: {{ $sidecar.resources.requests.memory | quote }}
dapr.io/sidecar-cpu-limit: {{ $sidecar.resources.limits.cpu | quote }}
dapr.io/sidecar-memory-limit: {{ $sidecar.resources.limits.memory | quote }}
{{- /* The Go runtime of daprd collects before it reaches the container's memory limit. */}}
dapr.io/env: {{ printf "GOMEMLIMIT=%s" $sidecar.goMemLimit | quote }}
dapr.io/enable-metrics: "true"
dapr.io/metrics-port: {{ $sidecar.metricsPort | quote }}
dapr.io/sidecar-seccomp-profile-type: RuntimeDefault
{{- end -}}

{{/* Secret (and key) holding the Kafka password an app's pubsub component reads; empty without one:
     (dict "root" $ "appId" $appId). */}}
{{- define "reservex.kafkaPasswordSecret" -}}
{{- if eq .root.Values.kafka.mode "strimzi" -}}
{{- include "reservex.kafkaUser" . -}}
{{- else if eq .root.Values.kafka.external.authType "password" -}}
{{- .root.Values.kafka.external.passwordSecret -}}
{{- end -}}
{{- end -}}
{{- define "reservex.kafkaPasswordKey" -}}
{{- if eq .root.Values.kafka.mode "strimzi" }}password{{ else }}{{ .root.Values.kafka.external.passwordKey }}{{ end -}}
{{- end -}}

{{/* For a pod with a Dapr sidecar that loads the pubsub component: an init container that needs the
     Kafka password Secret as a volume. daprd exits when a component's secretKeyRef is missing, and
     Strimzi writes the KafkaUser's Secret only once the user is ready; the kubelet starts no container
     of a pod before its Secret volumes exist, so the pod waits for it instead of crash-looping.
     Call with (dict "root" $ "name" $name "svc" $svc "appId" $appId); "reservex.kafkaPasswordVolume"
     (same argument) is its volume. */}}
{{- define "reservex.waitForKafkaPassword" -}}
{{- if include "reservex.kafkaPasswordSecret" . -}}
- name: wait-for-kafka-user
  image: {{ include "reservex.image" . | quote }}
  imagePullPolicy: {{ .root.Values.global.imagePullPolicy }}
  command: ["node", "-e", "require('node:fs').accessSync('/kafka-user/password')"]
  resources:
    requests: { cpu: 5m, memory: 16Mi }
    limits: { cpu: 100m, memory: 64Mi }
  securityContext:
    {{- include "reservex.securityContext" . | nindent 4 }}
  volumeMounts:
    - name: kafka-user
      mountPath: /kafka-user
      readOnly: true
{{- end }}
{{- end -}}
{{- define "reservex.kafkaPasswordVolume" -}}
{{- with include "reservex.kafkaPasswordSecret" . -}}
- name: kafka-user
  secret:
    secretName: {{ . }}
    items:
      - { key: {{ include "reservex.kafkaPasswordKey" $ }}, path: password }
{{- end }}
{{- end -}}
