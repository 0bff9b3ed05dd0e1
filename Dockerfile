# syntax=docker/dockerfile:1
#
# The orderflow image: one executable, one service per subcommand, e.g.
#   docker run orderflow:local order --bind 0.0.0.0 --port 8081
# Used by deploy/compose/compose.yaml and deploy/kubernetes/ (see their READMEs).
#
#   docker build -t orderflow:local .

# --- Build ----------------------------------------------------------------------------------
# The workspace's rust-version (Cargo.toml) on the same Debian release as the runtime, so the
# binary links against the glibc it will meet. The full (not slim) image already has what
# rdkafka-sys needs to build librdkafka from source: a C compiler, make, zlib's headers.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Without default features: `embedded-broker` builds the embedded Tansu broker (most of the
# build time) and the `orderflow-broker` executable, which only `orderflow up` and
# `orderflow broker` run; next to a real Kafka neither is needed. The `orderflow` executable's
# service subcommands are the same with or without it.
# The cache mounts keep the registry and the target folder between builds (BuildKit); the binary
# is copied out of the mount because the mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p orderflow --no-default-features \
    && cp target/release/orderflow /usr/local/bin/orderflow

# --- Run ------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: the trust store, for any client that connects with TLS (this build's Kafka,
# PostgreSQL and OTLP clients have no TLS; see deploy/kubernetes/README.md). curl: for the
# containers' health checks in compose (`curl -f http://127.0.0.1:<port>/health`) and for
# looking around inside a running container. librdkafka is linked statically; the binary's
# shared libraries (zlib, libgcc_s, glibc) are part of every Debian.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A numeric, non-root user: Kubernetes' `runAsNonRoot` can only check a numeric USER.
RUN groupadd --system --gid 10001 orderflow \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/orderflow --create-home \
       --shell /usr/sbin/nologin orderflow
COPY --from=build /usr/local/bin/orderflow /usr/local/bin/orderflow
USER 10001:10001
# Without DATABASE_URL a service keeps SQLite files in ./data (--data-dir): here, writable by
# the user. With PostgreSQL (compose, Kubernetes) nothing is written to disk.
WORKDIR /var/lib/orderflow
# front-door 8080, order 8081, shipping 8082, invoicing 8083, bonus 8084 (each one's default
# --port). Services listen on 127.0.0.1 unless given --bind 0.0.0.0, as every container must.
EXPOSE 8080 8081 8082 8083 8084
# No HEALTHCHECK here: the port to ask depends on the subcommand; compose and Kubernetes each
# check `GET /health` on the service's own port.
ENTRYPOINT ["orderflow"]
# Without a subcommand orderflow runs `up`, which needs the embedded broker this image leaves
# out: say what there is instead.
CMD ["--help"]
