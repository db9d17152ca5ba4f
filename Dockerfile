# One image for the whole Faultline stack; the command picks the part:
#   docker run faultline start | exporter ... | daemon ... | demo ...
# The `plugins` stage builds the Grafana plugins (dist/); docker-compose.yaml copies them into
# Grafana's plugin volume, so `docker-compose up` needs nothing built on the host.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# Toolchain only for the case where better-sqlite3 has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS plugins
COPY . .
RUN npm run build
# time-skew's native helper, compiled from daemon/native/*.c here (gcc came with g++ above)
RUN rm -rf daemon/native/build && node daemon/native/build.js

FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# What the node daemon drives (argv only, never a shell): nft, tc/ip, stress-ng, procps.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 nftables iptables procps stress-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY api ./api
COPY server-common ./server-common
COPY cli ./cli
COPY daemon ./daemon
COPY --from=plugins /app/daemon/native/build ./daemon/native/build
COPY demo ./demo
COPY exporter ./exporter
RUN mkdir -p /data /state
EXPOSE 9470 9471 9480
ENTRYPOINT ["node", "/app/bin/faultline.js"]
CMD ["start", "--listen", "0.0.0.0:9470", "--data-dir", "/data"]
