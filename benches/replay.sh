#!/usr/bin/env bash
# Replay benchmark: N events in a fresh database, then `agent-panel replay` of one projection,
# timed against a plain SELECT scan of the same event table in the same run.
#
#   benches/replay.sh [N]            (default 1000000; needs psql and a PostgreSQL server:
#                                     DATABASE_URL's, else postgres://postgres@127.0.0.1:5432)
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
SERVER=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB="bench_replay_$(date +%s)"
BASE=${SERVER%/*}
URL="$BASE/$DB"
cargo build --release -q
BIN=target/release/agent-panel
psql -q "$SERVER" -c "CREATE DATABASE $DB"
trap 'psql -q "$SERVER" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
DATABASE_URL=$URL $BIN migrate >/dev/null
echo "seeding $N ContactRegistered events"
psql -q "$URL" <<SQL
INSERT INTO accounts (id, name, timezone, created_at, created_by)
VALUES ('00000000-0000-4000-8000-000000000001', 'Bench', 'America/Sao_Paulo', now(), 'bench');
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT 'Contact', id::text, 1, 'ContactRegistered', '1.0',
       json_build_object('ContactRegistered', json_build_object(
         'contactId', id, 'accountId', '00000000-0000-4000-8000-000000000001', 'name', 'Contact ' || i,
         'active', true, 'tagIds', '[]'::json, 'addresses', '[]'::json, 'at', '2026-11-27T15:00:00Z')),
       json_build_object('actor', 'system', 'at', '2026-11-27T15:00:00Z')
  FROM (SELECT i, gen_random_uuid() AS id FROM generate_series(1, $N) i) s;
-- The projection starts from the beginning: the log is what counts.
INSERT INTO projection_checkpoints (name, tx_id, position)
SELECT 'contacts', max(tx_id), max(position) FROM events;
VACUUM ANALYZE events;
SQL
scan_start=$(date +%s.%N)
psql -q -At "$URL" -c "SELECT count(*), sum(length(payload::text)) FROM events" >/dev/null
scan_end=$(date +%s.%N)
out=$(DATABASE_URL=$URL $BIN replay --projection contacts)
echo "$out"
replay_s=$(echo "$out" | sed -nE 's/.* in ([0-9.]+) s .*/\1/p')
scan_s=$(echo "$scan_end - $scan_start" | bc -l)
echo "plain SELECT scan of $N events: ${scan_s} s ($(echo "$N / $scan_s" | bc) events/s)"
echo "replay / scan time ratio: $(echo "$replay_s / $scan_s" | bc -l | cut -c1-6)"
