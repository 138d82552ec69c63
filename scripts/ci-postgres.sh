#!/usr/bin/env bash
# Start a throwaway PostgreSQL on loopback for the tests and print its URL.
# Usage: eval "$(scripts/ci-postgres.sh)"   -> exports INSPECTOR_TEST_PG_URL
# Installs the server with apt-get when it is missing (CI runs as root).
set -euo pipefail
PORT=${PGPORT_TEST:-55433}
find_bin() {
  command -v "$1" 2>/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}
INITDB=$(find_bin initdb || true)
if [ -z "$INITDB" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  INITDB=$(find_bin initdb || true)
fi
if [ -z "$INITDB" ]; then
  echo "echo 'PostgreSQL not available: its tests will be skipped' >&2"
  exit 0
fi
PG_CTL=$(find_bin pg_ctl)
CREATEDB=$(find_bin createdb)
DATA=$(mktemp -d /tmp/inspector-pg.XXXXXX)
SOCK="$DATA/sock"
mkdir -p "$SOCK"
# the server refuses to run as root: run it as an unprivileged user
RUNAS=()
if [ "$(id -u)" = 0 ]; then
  USER_NAME=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
  chown -R "$USER_NAME" "$DATA"
  RUNAS=(runuser -u "$USER_NAME" --)
fi
"${RUNAS[@]}" "$INITDB" -D "$DATA/db" -U inspector --auth=trust >"$DATA/initdb.log" 2>&1
"${RUNAS[@]}" "$PG_CTL" -D "$DATA/db" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c fsync=off" start >&2
"${RUNAS[@]}" "$CREATEDB" -h 127.0.0.1 -p "$PORT" -U inspector inspector_test >&2
echo "export INSPECTOR_TEST_PG_URL='postgresql+psycopg://inspector@127.0.0.1:$PORT/inspector_test'"
# stopping also removes the server's folder (64 MB each: left behind, they fill the disk)
echo "export INSPECTOR_TEST_PG_STOP='${RUNAS[*]} $PG_CTL -D $DATA/db -m fast stop; rm -rf $DATA'"
