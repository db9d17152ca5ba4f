# One image for the whole Faultline stack; the command picks the part:
#   docker run faultline start | exporter ... | daemon ... | demo ...
# The `plugins` stage builds the server (dist-server/) and the Grafana plugins (dist/); docker-compose.yaml copies the plugins into
# Grafana's plugin volume, so `docker-compose up` needs nothing built on the host.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
# Toolchain for better-sqlite3 where it has no prebuilt binary, and for daemon/native (libnftables-dev: the daemon's nft addon).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libnftables-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` compiles the sources, which are not copied yet (the `build` stage does it).
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 @swc/core

# Compiles the server (dist-server/, plain JavaScript: no TypeScript compiler at run time) and the plugins (dist/).
FROM deps AS plugins
COPY . .
RUN npm run build
# the native parts (time-skew's helper, the nft and tc addons, the fault proxy's relay), compiled from daemon/native/*.c here (gcc came with g++ above;
# the runtime's libnftables1 comes with its nftables package)
RUN rm -rf daemon/native/build && node daemon/native/build.js

FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
# What the node daemon drives (argv only, never a shell): nft, tc/ip, stress-ng, procps.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 nftables iptables procps stress-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
# What runs: the compiled JavaScript. The source folders come along for the plain-JS scripts and
# files that are started or read by path (stressors, the demo backend).
COPY --from=plugins /app/dist-server ./dist-server
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
