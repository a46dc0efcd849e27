# Cairn as a container image: `docker build -t cairn .`
# The same image runs every role: `serve` (API, default) or `worker`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# python3/make/g++ only in case a native module (better-sqlite3) has no prebuilt binary
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
COPY packages ./packages
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CAIRN_HOST=0.0.0.0 \
    CAIRN_PORT=8080 \
    CAIRN_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# the web app, served at / (src/http/web-app.ts looks for it next to dist/src)
COPY --from=build /app/dist/web ./dist/web
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.CAIRN_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec form: the node process gets SIGTERM directly and finishes uploads in flight
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
