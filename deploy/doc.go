// Package deploy holds storeprobe's deployment files — Grafana provisioning
// and dashboards (grafana/), the docker-compose stack (docker-compose.yml)
// and its probe configuration (storeprobe/config.yaml) — and the tests that
// keep them true: the compose file is loaded with the compose-spec loader,
// and every dashboard query is run against a real InfluxDB over data that
// storeprobe's own shipper wrote. It has no Go API.
package deploy
