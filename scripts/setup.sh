#!/usr/bin/env bash
# Installs what leechguard's tests and local stack need on a fresh Debian/Ubuntu machine (or checks
# it elsewhere): Java 17+ (Kafka), a Java 21+ runtime (Apicurio Registry 3.3), Maven, redis-server,
# then the npm packages — which bring Node.js 24 itself (the `node` devDependency), so npm scripts
# and `npx leechguard` run on Node 24 even where the system Node is older.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# Debian's chromium: the console's browser tests drive it (puppeteer-core, no browser download).
command -v chromium >/dev/null 2>&1 || [ -n "${LEECHGUARD_CHROMIUM:-}" ] || need_apt+=(chromium)
# Only to validate docker-compose.yml in the tests (`config` needs no Docker engine).
{ docker compose version || docker-compose version; } >/dev/null 2>&1 || need_apt+=(docker-compose)

if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing from Debian packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "[setup] missing: ${need_apt[*]} — install them with your package manager (see README: Prerequisites)" >&2
    exit 1
  fi
fi

# The registry needs Java 21+; Debian 12 ships 17, so look for another JDK (e.g. Temurin) too.
java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
found21=""
for j in "${LEECHGUARD_REGISTRY_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java)" /usr/lib/jvm/*/bin/java; do
  [ -n "$j" ] && [ -x "$j" ] || continue
  m=$(java_major "$j"); if [ -n "$m" ] && [ "$m" -ge 21 ]; then found21="$j"; break; fi
done
if [ -z "$found21" ] && command -v apt-get >/dev/null 2>&1; then
  # Newer Debian/Ubuntu have openjdk-21; try it, and say what to do when it is not there.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-21-jre-headless >/dev/null 2>&1 || true
fi

# nginx with the Lua module, for the test that runs examples/nginx for real. Installed in CI, or when
# LEECHGUARD_WITH_NGINX=1; elsewhere that test is skipped and says so. Debian's postinst would start
# a system nginx on port 80: a policy-rc.d (the Debian way for containers) stops that, and the
# service is left disabled where systemd runs.
if { [ "${CI:-}" = "true" ] || [ "${LEECHGUARD_WITH_NGINX:-}" = "1" ]; } && command -v apt-get >/dev/null 2>&1 \
  && ! { command -v openresty >/dev/null 2>&1 || [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ]; }; then
  echo "[setup] installing nginx + libnginx-mod-http-lua (examples/nginx test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  # Fresh lists: the mirror replaces point releases of nginx, so old lists can name a gone file.
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    nginx libnginx-mod-http-lua >/dev/null
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
fi

echo "[setup] npm packages (brings Node $(sed -n 's/.*"node": "\([0-9.]*\)".*/\1/p' package.json | tail -1))"
# A clean clone (CI, a first setup) installs exactly the committed lock, as the Dockerfile does:
# `npm ci`, which also proves the lock is complete (every platform's optional packages listed, see
# scripts/lock-platforms.ts). Afterwards, only what is missing: `npm install` from the lock.
if [ -d node_modules ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error
else
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "[setup] node for npm scripts: $(npx --no-install node -v)"
# The analyst console's bundle (enforcer/ui/dist, not committed): built from enforcer/ui/src.
npm run --silent build:ui
