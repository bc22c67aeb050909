# The image the manifests name (clusterdns:<version>, see deploy/):
#   docker build -t clusterdns:0.1.0 .
# Build stage: compile TypeScript, then keep only the runtime dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime stage: node, the compiled code and its dependencies; nothing is built at start.
FROM node:20-bookworm-slim
# Port 53 as a user other than root: node may bind low ports (the pod keeps NET_BIND_SERVICE only).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep /usr/local/bin/node \
 && apt-get purge -y libcap2-bin \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The node image's "node" user, by number so the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 53/udp 53/tcp 9153/tcp
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=25", "--expose-gc", "/app/dist/cli/main.js"]
CMD ["serve", "--help"]
