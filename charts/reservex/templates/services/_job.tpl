{{/* A one-shot Job running a script of a service's image, as a Helm hook, without a Dapr sidecar (a
     sidecar would keep the Job from completing). Call with (dict "root" $ "name" $name "svc" $svc
     "job" "migrate" "script" "src/main.ts" "args" (list "migrate") "hook" "post-install,pre-upgrade"
     "weight" "0"); "args" and "env" (a list of container env entries) are optional. */}}
{{- define "reservex.serviceJob" -}}
{{- $ := .root -}}
{{- $name := .name -}}
{{- $svc := .svc -}}
{{- $ctx := merge (dict "component" .job) . -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "reservex.serviceName" $ctx }}-{{ .job }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "reservex.serviceLabels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ $.Values.migrations.backoffLimit }}
  activeDeadlineSeconds: {{ $.Values.migrations.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        {{- /* Not the service's selector labels: the Deployment, its PodDisruptionBudget and its Service
               must not count or route to a hook's pod. */}}
        app.kubernetes.io/instance: {{ $.Release.Name | quote }}
        app.kubernetes.io/name: {{ printf "%s-%s" $name .job | quote }}
        app.kubernetes.io/part-of: reservex
        app.kubernetes.io/component: {{ .job }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "reservex.serviceName" $ctx }}
      automountServiceAccountToken: false
      securityContext:
        {{- include "reservex.podSecurityContext" $ctx | nindent 8 }}
      {{- with $.Values.global.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .job }}
          image: {{ include "reservex.image" $ctx | quote }}
          imagePullPolicy: {{ $.Values.global.imagePullPolicy }}
          # What the service's npm script runs; the image carries no npm.
          command: ["node", "services/{{ $name }}/{{ .script }}"{{ range .args }}, {{ . | quote }}{{ end }}]
          env:
            {{- include "reservex.serviceEnv" $ctx | nindent 12 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "reservex.securityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $svc.tmpSizeLimit }}
{{- end -}}
