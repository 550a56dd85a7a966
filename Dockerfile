# leechguard services (ingest, detector, enforcer) for hosts with Docker. Node 24 runs the
# TypeScript sources directly; the only build step is the analyst console's bundle (esbuild, a
# devDependency), made in a first stage and copied in.
FROM node:24.21.0-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:ui

FROM node:24.21.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci's postinstall applies patches/ (patch-package) to the installed dependencies. The lock
# lists every platform's optional prebuilt packages (scripts/lock-platforms.ts keeps it so;
# `npm run check` fails otherwise), so npm ci accepts it and installs this platform's ones.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
COPY --from=console /app/enforcer/ui/dist ./enforcer/ui/dist
USER node
ENTRYPOINT ["node", "bin/leechguard.mjs"]
