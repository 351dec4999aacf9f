#!/usr/bin/env bash
# Make sure a PostgreSQL server is running for the storage tests and print its URL.
# Uses PAYFORWARD_TEST_POSTGRES_URL when it is already set; otherwise installs (Debian),
# starts the machine's cluster and creates the payforward role and test database.
# Any failure exits non-zero: the PostgreSQL tests must fail, never be skipped.
set -euo pipefail

if [[ -n "${PAYFORWARD_TEST_POSTGRES_URL:-}" ]]; then
  echo "$PAYFORWARD_TEST_POSTGRES_URL"
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
as_postgres() { as_root su postgres -c "$1"; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing PostgreSQL (apt-get)…" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
fi

cluster=$(pg_lsclusters --no-header | head -n 1)
if [[ -z "$cluster" ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  as_root pg_createcluster "$version" main >&2
  cluster=$(pg_lsclusters --no-header | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [[ "$status" != online* ]]; then
  as_root pg_ctlcluster "$version" "$name" start >&2
fi

for _ in $(seq 1 30); do
  as_postgres "psql -p $port -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done

as_postgres "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='payforward'\"" | grep -q 1 ||
  as_postgres "psql -p $port -qc \"CREATE ROLE payforward LOGIN PASSWORD 'payforward' CREATEDB\"" >&2
as_postgres "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname='payforward_test'\"" | grep -q 1 ||
  as_postgres "psql -p $port -qc 'CREATE DATABASE payforward_test OWNER payforward'" >&2

echo "postgresql://payforward:payforward@127.0.0.1:${port}/payforward_test"
