{{/*
Helpers shared by every template. The rendered k8s-specifications/ are produced from this chart
(`make manifests`), so what a helper prints is what a reader of those files sees.
*/}}

{{/* The app version: image.tag, else the chart's appVersion. */}}
{{- define "voting-app.version" -}}
{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
Labels of an object and of its pods: `app` (what Services, NetworkPolicies and selectors match;
kept from the first manifests because a Deployment's selector cannot change) and the Kubernetes
recommended labels. Call with (dict "ctx" $ "name" "vote" "component" "frontend"), and "version"
for an image that is not the app's.
*/}}
{{- define "voting-app.labels" -}}
{{- $ctx := .ctx -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/version: {{ .version | default (include "voting-app.version" $ctx) | quote }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
app.kubernetes.io/part-of: voting-app
app.kubernetes.io/managed-by: {{ $ctx.Values.managedBy | default $ctx.Release.Service }}
{{- with .color }}
color: {{ . }}
{{- end }}
{{- end }}

{{/* The image of one of the app's services: (dict "ctx" $ "image" .Values.vote.image). */}}
{{- define "voting-app.image" -}}
{{- $registry := .ctx.Values.image.registry -}}
{{- $ref := printf "%s:%s" .image.repository (.image.tag | default (include "voting-app.version" .ctx)) -}}
{{ if $registry }}{{ printf "%s/%s" (trimSuffix "/" $registry) $ref }}{{ else }}{{ $ref }}{{ end }}
{{- end }}

{{/*
The hardening block every container carries: Pod Security "restricted", read-only root, no
capabilities. Call with the uid (10001 for the app, 999 for the Redis and Postgres images).
*/}}
{{- define "voting-app.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The pod-level half of the same block. */}}
{{- define "voting-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod spec fields shared by vote, result and worker: pull secrets, node spreading, and how soon
their pods leave a node that stopped answering. */}}
{{- define "voting-app.podPlacement" -}}
{{- $ctx := .ctx -}}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ $ctx.Values.topologySpread.topologyKey }}
    whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        app: {{ .name }}
{{- end }}
{{- with $ctx.Values.nodeLossTolerationSeconds }}
{{- $seconds := . }}
tolerations:
  {{- range $taint := list "not-ready" "unreachable" }}
  - key: node.kubernetes.io/{{ $taint }}
    operator: Exists
    effect: NoExecute
    tolerationSeconds: {{ $seconds }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Where vote and worker find the queue: Service redis, or in the high-availability mode the
Sentinels, which name the master. */}}
{{- define "voting-app.redisEnv" -}}
{{- if .Values.redis.sentinel.enabled -}}
{{- $members := list }}
{{- range $i := until (int .Values.redis.sentinel.replicas) }}
{{- $members = append $members (printf "redis-%d.redis-headless:26379" $i) }}
{{- end }}
# Each Sentinel by its own name: the client asks the next when one does not answer (the Service
# would keep sending some of those questions to a lost node's Sentinel until the node is declared
# lost, about 40 s).
- name: REDIS_SENTINELS
  value: {{ join "," $members }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName }}
{{- else -}}
- name: REDIS_HOST
  value: redis
- name: REDIS_PORT
  value: "6379"
{{- end }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.redis.name }}
      key: REDIS_PASSWORD
{{- end }}

{{/* A checksum of the options: a change rolls the pods that read them. */}}
{{- define "voting-app.optionsChecksum" -}}
checksum/options: {{ toJson .Values.options | sha256sum | trunc 16 | quote }}
{{- end }}

{{/*
Blue-green for a front end: the colours its Deployments are named after, as a JSON list; [""] (one
Deployment, no colour) unless blueGreen.enabled.
*/}}
{{- define "voting-app.colors" -}}
{{- if .blueGreen.enabled -}}
{{- if not (has .blueGreen.live (list "blue" "green")) -}}
{{- fail (printf "blueGreen.live is %q: blue or green" .blueGreen.live) -}}
{{- end -}}
{{- if .autoscaling.enabled -}}
{{- fail "blueGreen and autoscaling exclude each other: an HPA scales one Deployment" -}}
{{- end -}}
["blue", "green"]
{{- else -}}
[""]
{{- end -}}
{{- end }}

{{/* The image of one colour: the front end's image with that colour's tag, if it has one. */}}
{{- define "voting-app.colorImage" -}}
{{- $tag := "" -}}
{{- if .color -}}{{- $tag = index .app.blueGreen.tags .color -}}{{- end -}}
{{- toYaml (merge (dict "tag" ($tag | default .app.image.tag)) (omit .app.image "tag")) -}}
{{- end }}

{{/*
The claim template of a server's data: db or redis ("app"), sized by its storage values ("root" is
the chart's root context). Fixed labels only: a StatefulSet's claim templates cannot change after
creation.
*/}}
{{- define "voting-app.dataClaim" -}}
{{- $storage := (index .root.Values .app).storage -}}
volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        app: {{ .app }}
        app.kubernetes.io/name: {{ .app }}
        app.kubernetes.io/instance: {{ .root.Release.Name }}
        app.kubernetes.io/part-of: voting-app
    spec:
      accessModes:
        - ReadWriteOnce
      resources:
        requests:
          storage: {{ $storage.size }}
      {{- with $storage.className }}
      storageClassName: {{ . }}
      {{- end }}
{{- end }}
