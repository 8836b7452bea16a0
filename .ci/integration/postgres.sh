#!/usr/bin/env bash
# Integration suite for the cluster stores (mailqueue/pgstore,
# authchain/pgstore, sysparams/pgstore) against a real PostgreSQL: the
# server already running on 127.0.0.1:5432 (trust auth, user postgres) or,
# when none answers, Debian's cluster started with pg_ctlcluster (installed
# first if needed). The tests run in a database of their own, created here
# and dropped at exit; each test also works in a schema of its own. Then a
# short benchmark run prints the figures, and the quickstart runs its flow
# on the shared stores (-pg) when it has the flag.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin:/usr/lib/postgresql/$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)/bin"
export DEBIAN_FRONTEND=noninteractive
suite=postgres
pkgs="postgresql postgresql-client"
host=127.0.0.1
port=${UCXKIT_PG_PORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" -t 2 >/dev/null 2>&1; }

if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  if ! apt-get install -y --no-install-recommends $pkgs >/dev/null 2>&1; then
    echo "SKIP: $suite: could not install $pkgs"
    exit 0
  fi
  export PATH="$PATH:/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin"
fi

started=""
if ! ready; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
  if [ -z "$version" ]; then
    if ! apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1; then
      echo "SKIP: $suite: could not install postgresql"
      exit 0
    fi
    version=$(ls /etc/postgresql | sort -n | tail -1)
  fi
  echo "starting PostgreSQL $version (cluster main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  started=$version
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  if ! ready; then
    echo "FAIL: $suite: PostgreSQL did not answer on $host:$port"
    exit 1
  fi
fi

# psql as the postgres superuser: over TCP (trust), else through the local
# socket as the postgres system user.
pgsql() {
  if psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres -c "$1" >/dev/null 2>&1; then
    return 0
  fi
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "$1" >/dev/null
}

db="ucxkit_ci_$$_$(date +%s)"
work=$(mktemp -d /tmp/ucxkit-pg.XXXXXX)
cleanup() {
  pgsql "DROP DATABASE IF EXISTS $db WITH (FORCE)" || echo "WARNING: could not drop database $db"
  if [ -n "$started" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$started" main stop || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

pgsql "CREATE DATABASE $db"
export UCXKIT_PG_DSN="postgres://postgres@$host:$port/$db?sslmode=disable"
echo "UCXKIT_PG_DSN=$UCXKIT_PG_DSN"

status=0
timeout 420 go test -count=1 ./mailqueue/pgstore/... ./authchain/pgstore/... ./sysparams/pgstore/... ./internal/pgschema/... ./examples/quickstart/... || status=1

if [ $status = 0 ]; then
  echo "== benchmarks (PostgreSQL store against the file spool)"
  timeout 120 go test -count=1 -run '^$' -bench . -benchtime=1000x ./mailqueue/pgstore/ || status=1
fi

if [ $status = 0 ] && grep -q '"pg"' examples/quickstart/*.go 2>/dev/null; then
  echo "== quickstart -pg"
  psql -X -q -h "$host" -p "$port" -U postgres -d "$db" -c "CREATE SCHEMA quickstart" >/dev/null 2>&1 \
    || runuser -u postgres -- psql -X -q -p "$port" -d "$db" -c "CREATE SCHEMA quickstart" >/dev/null
  timeout 180 go run ./examples/quickstart -dir "$work/qs" -pg "$UCXKIT_PG_DSN&search_path=quickstart" || status=1
fi

exit $status
