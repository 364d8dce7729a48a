# storeprobe probe image: one replica per location (`storeprobe run`).
# Build: docker build -t storeprobe .   Run: see deploy/docker-compose.yml.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY probe ./probe
COPY scenarios ./scenarios
COPY storage ./storage
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/storeprobe ./cmd/storeprobe

FROM debian:bookworm-slim
# Chromium for browser checks and journeys; fonts so pages lay out as for shoppers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium ca-certificates fonts-liberation tzdata tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 storeprobe \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/storeprobe --create-home storeprobe \
 && mkdir -p /etc/storeprobe \
 && chown storeprobe /var/lib/storeprobe
COPY --from=build /out/storeprobe /usr/local/bin/storeprobe
# Numeric, so Kubernetes' runAsNonRoot can verify it without runAsUser.
USER 10001:10001
WORKDIR /var/lib/storeprobe
VOLUME ["/var/lib/storeprobe"]
ENV STOREPROBE_CHROME=/usr/bin/chromium
# The container is Chrome's sandbox: Docker's default seccomp profile denies the
# user namespaces Chrome's own sandbox needs.
ENV STOREPROBE_CHROME_FLAGS="--no-sandbox"
EXPOSE 9090
# The probe checks itself with its own HTTP check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["storeprobe", "check", "http://127.0.0.1:9090/healthz", "--timeout", "3s", "--output", "json"]
STOPSIGNAL SIGTERM
# tini as PID 1 reaps the renderer and zygote processes a crashed Chromium
# leaves behind, and forwards SIGTERM to storeprobe.
ENTRYPOINT ["/usr/bin/tini", "--", "storeprobe"]
CMD ["run", "--config", "/etc/storeprobe/config.yaml", "--store", "/var/lib/storeprobe/storeprobe.db", "--listen", ":9090"]
