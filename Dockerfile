# syntax=docker/dockerfile:1
# Keybroker KBS image. Build:  docker build -t keybroker:dev .
# Run (one instance, state on a volume):
#   docker run -d --name kbs -p 8080:8080 -v kbs-data:/data keybroker:dev
# Configuration: the baked-in deploy/docker/kbs-config.toml, or mount your own and point KBS_CONFIG_FILE at it.
# See docs/deploy.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- Stage 1: production dependencies only. tsx is a runtime dependency: the TypeScript runs through it.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency install script runs in the build (esbuild's platform binary comes as an
# optional dependency and needs none).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- Stage 2: runtime.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    KBS_DATA_DIR=/data \
    KBS_CONFIG_FILE=/etc/kbs/kbs-config.toml \
    KBS_LOG_LEVEL=info
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# tsconfig.json: tsx transpiles with the same compiler options as the type-check (e.g. class field semantics).
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY protos ./protos
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
COPY deploy/docker/kbs-config.toml /etc/kbs/kbs-config.toml
# The application files stay owned by root (read-only for the service user); only /data is writable.
# uid/gid 1000 is the image's "node" user; numeric, so Kubernetes' runAsNonRoot can check it.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/kbs"]
