// Package deploy holds storeprobe's deployment files — Grafana provisioning
// and dashboards (grafana/), the docker-compose stack (docker-compose.yml)
// and its probe configuration (storeprobe/config.yaml), the Kubernetes
// manifests (kubernetes/) and the seccomp profile for Chrome's sandbox
// (seccomp/) — and the tests that keep them true: the compose file is loaded
// with the compose-spec loader, every dashboard query is run against a real
// InfluxDB over data that storeprobe's own shipper wrote, the manifests are
// decoded strictly into the Kubernetes API's types and checked against the
// config they carry, and the profile is decoded into the OCI runtime-spec's
// type. It has no Go API.
package deploy
