{{/* The chart's name, and a release's full name (at most 63 characters: a DNS label). */}}
{{- define "beltline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "beltline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "beltline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Helm's recommended labels. */}}
{{- define "beltline.labels" -}}
helm.sh/chart: {{ include "beltline.chart" . }}
{{ include "beltline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: beltline
{{- end }}

{{- define "beltline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "beltline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "beltline.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "beltline.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "beltline.fullname" .) }}
{{- end }}

{{/*
A belt's name as part of a Kubernetes name: a belt name may hold upper case, "_" and "." (and end
in them), which names of objects and label values may not.
*/}}
{{- define "beltline.beltSlug" -}}
{{- . | lower | replace "_" "-" | replace "." "-" | trunc 40 | trimAll "-" }}
{{- end }}

{{/*
The environment every beltline process gets: the settings the chart manages, then config (whose
names the schema keeps apart from these), then the role's own env. DATABASE_URL comes from the
Secret; the admin key only where it is used (the collector).
Called with (dict "root" $ "env" <role env> "adminKey" <bool>).
*/}}
{{- define "beltline.env" -}}
{{- $v := .root.Values -}}
- name: TEMPORAL_ADDRESS
  value: {{ $v.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $v.temporal.namespace | quote }}
- name: BELTLINE_TASK_QUEUE
  value: {{ $v.temporal.taskQueue | quote }}
{{- with $v.temporal.uiUrl }}
- name: BELTLINE_TEMPORAL_UI_URL
  value: {{ . | quote }}
{{- end }}
- name: KAFKA_BROKERS
  value: {{ $v.kafka.brokers | quote }}
- name: BELTLINE_RAW_TOPIC
  value: {{ $v.kafka.rawTopic | quote }}
- name: BELTLINE_RAW_PARTITIONS
  value: {{ $v.kafka.rawPartitions | quote }}
- name: BELTLINE_BAD_TOPIC
  value: {{ $v.kafka.badTopic | quote }}
- name: BELTLINE_PROFILE_UPDATES_TOPIC
  value: {{ $v.kafka.profileUpdatesTopic | quote }}
- name: BELTLINE_RECOVERY_FAILED_TOPIC
  value: {{ $v.kafka.recoveryFailedTopic | quote }}
- name: BELTLINE_CONSUMER_GROUP
  value: {{ $v.kafka.consumerGroup | quote }}
- name: BELTLINE_HTTP_HOST
  value: "0.0.0.0"
- name: BELTLINE_HTTP_PORT
  value: {{ $v.httpPort | quote }}
- name: BELTLINE_METRICS_HOST
  value: "0.0.0.0"
- name: BELTLINE_METRICS_PORT
  value: {{ $v.metricsPort | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "beltline.secretName" .root }}
      key: {{ $v.secrets.databaseUrlKey }}
{{- if .adminKey }}
- name: BELTLINE_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "beltline.secretName" .root }}
      key: {{ $v.secrets.adminKeyKey }}
{{- end }}
{{- range $name, $value := $v.config }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
One role's Deployment. Called with (dict "root" $ "component" <label> "name" <object name>
"args" <beltline's arguments> "settings" <the role's values> "replicas" <count or nil>
"extraLabels" <dict> "probePort" <port name> "adminKey" <bool> "http" <bool>).
*/}}
{{- define "beltline.deployment" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $s := .settings -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "beltline.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with .extraLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "beltline.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
      {{- with .extraLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  template:
    metadata:
      labels:
        {{- include "beltline.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
        {{- with .extraLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.serviceAccountName }}
      serviceAccountName: {{ . }}
      {{- end }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $s.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      containers:
        - name: beltline
          image: {{ include "beltline.image" $root }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            {{- include "beltline.env" (dict "root" $root "env" $s.env "adminKey" .adminKey) | nindent 12 }}
          ports:
            {{- if .http }}
            - name: http
              containerPort: {{ $v.httpPort }}
              protocol: TCP
            {{- end }}
            - name: metrics
              containerPort: {{ $v.metricsPort }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /health
              port: {{ .probePort }}
            {{- toYaml $v.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /ready
              port: {{ .probePort }}
            {{- toYaml $v.probes.readiness | nindent 12 }}
          {{- with $s.preStopSleepSeconds }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ . | quote }}]
          {{- end }}
          resources:
            {{- toYaml $s.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* A PodDisruptionBudget for one Deployment's pods. Called like beltline.deployment. */}}
{{- define "beltline.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  labels:
    {{- include "beltline.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with .extraLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- if hasKey .settings.pdb "minAvailable" }}
  minAvailable: {{ .settings.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .settings.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "beltline.selectorLabels" .root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
      {{- with .extraLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
{{- end }}
