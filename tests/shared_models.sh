#!/usr/bin/env bash
# Shared models (DESIGN.md, "Shared models"), in a throwaway cluster of its
# own with recsys in shared_preload_libraries: two sessions share one copy of
# a model's bytes; a session that ends (even terminated) stops using it; a
# new version replaces the old and is served at the next call; the bound
# (recsys.shared_cache_memory, postgresql.conf only) evicts unused models,
# never used ones, and a model that does not fit is served from a private
# copy; 0 turns sharing off. The other suites run without the preload.
# Needs the extension installed (make install). Port: RECSYS_PGPORT + 1.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT PGDATABASE
. scripts/cluster.sh
RECSYS_PGPORT=$((${RECSYS_PGPORT:-54329} + 1)) RECSYS_PRELOAD=1 start_cluster
sleeper=
finish() {
    local rc=$?
    [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
    stop_cluster
    exit "$rc"
}
trap finish EXIT
fail() { echo "shared_models: FAILED: $*" >&2; exit 1; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
expect() {  # expect WHAT ACTUAL WANTED
    [ "$2" = "$3" ] || fail "$1: got '$2', wanted '$3'"
}
# jq-less access to recsys_cache_stats(): a jsonpath over it, in the session given by the SQL before it.
stats_of_m="jsonb_path_query_first(recsys_cache_stats(), '\$.shared_models[*] ? (@.name == \"m\")')"

sql >/dev/null <<'SQL'
CREATE EXTENSION recsys;
CREATE TABLE purchases AS
SELECT c AS user_id, 'SKU' || ((c * 31 + i * 17) % 300) AS item_id FROM generate_series(1, 3000) c, generate_series(1, 6) i;
SELECT recsys.train('m', 'ease', 'SELECT user_id, item_id FROM purchases');
SQL
export PGOPTIONS="-c search_path=public,recsys"
expect mode "$(sql -c "SELECT recsys_cache_stats() ->> 'mode'")" shared
bytes=$(sql -c "SELECT model_bytes FROM recsys_models WHERE name = 'm' AND active")

# A session serving the model, then idle: it keeps using the shared bytes.
psql -X -q -At -c "SELECT count(*) FROM recsys.recommend(1, 5, model => 'm')" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
sleeper=$!
for _ in $(seq 1 100); do
    [ "$(sql -c "SELECT $stats_of_m ->> 'backends'")" = 1 ] && break
    sleep 0.2
done
expect "the first session's use" "$(sql -c "SELECT $stats_of_m ->> 'backends'")" 1

# A second session decodes its own view over the same bytes: no second copy.
expect "two sessions" "$(sql <<SQL
SELECT count(*) FROM recommend(2, 5, model => 'm') \g /dev/null
SELECT concat_ws(' ', $stats_of_m ->> 'backends', s ->> 'shared_loads', s ->> 'shared_hits',
                 (s ->> 'shared_bytes')::bigint - $bytes, s ->> 'decodes')
FROM recsys_cache_stats() s;
SQL
)" "2 1 1 128 1"

# The first session terminated: its use ends with it.
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$sleeper" 2>/dev/null || true
sleeper=
expect "after the sessions ended" "$(sql -c "SELECT $stats_of_m ->> 'backends'")" 0

# A new version, written by a session that serves the old one: its next
# call serves the new version, whose bytes replace the old ones.
expect "a new version" "$(sql <<'SQL'
SELECT string_agg(item_id, ',' ORDER BY rank) AS before FROM recommend(3, 5, model => 'm') \gset
SELECT train('m', 'ease', 'SELECT user_id, item_id FROM purchases WHERE user_id % 3 <> 0', '{"lambda": 5}') \g /dev/null
SELECT count(*) FROM recommend(3, 5, model => 'm') \g /dev/null
SELECT concat_ws(' ', jsonb_array_length(s -> 'shared_models'), s #>> '{shared_models,0,version}' = v.version::text,
                 s ->> 'shared_loads', s -> 'shared_evictions')
FROM recsys_cache_stats() s, recsys_models v WHERE v.name = 'm' AND v.active;
SQL
)" "1 t 2 1"
# what another session is served from the shared bytes (compared with a private decode below)
served_shared=$(sql -c "SELECT string_agg(item_id || ':' || score, ',' ORDER BY rank) FROM recommend(4, 10, model => 'm')")

# Sessions that need a version at once: one copies it in, the others wait for it.
sql -c "SELECT train('big', 'ease', 'SELECT user_id, (user_id * 7 + i * 13) % 1500 AS item_id FROM purchases, generate_series(1, 4) i')" >/dev/null
loads=$(sql -c "SELECT recsys_cache_stats() ->> 'shared_loads'")
for b in 1 2 3 4; do sql -c "SELECT count(*) FROM recommend($b, 5, model => 'big')" >/dev/null & done
wait
expect "concurrent first uses" "$(sql -c "SELECT (s ->> 'shared_loads')::int - $loads, jsonb_path_query_first(s, '\$.shared_models[*] ? (@.name == \"big\").backends')
                                            FROM recsys_cache_stats() s" -F ' ')" "1 0"
# Loads cancelled at any point (statement_timeout) leave nothing half loaded behind.
sql -c "SELECT train('big', 'ease', 'SELECT user_id, (user_id * 11 + i * 13) % 1500 AS item_id FROM purchases, generate_series(1, 4) i')" >/dev/null
for ms in 1 2 3 5 8 12 20 30; do
    psql -X -q -At -c "SET statement_timeout = '${ms}ms'" -c "SELECT count(*) FROM recommend(1, 5, model => 'big')" >/dev/null 2>&1 || true
done
expect "after cancelled loads" "$(PGOPTIONS="$PGOPTIONS -c statement_timeout=30s" sql -c "SELECT count(*) FROM recommend(1, 5, model => 'big')")" 5

# The bound: room for one model. A second model evicts the unused first.
sql -c "SELECT train('m2', 'ease', 'SELECT user_id, item_id FROM purchases WHERE user_id % 2 = 0')" >/dev/null
bytes2=$(sql -c "SELECT model_bytes FROM recsys_models WHERE name = 'm2' AND active")
limit_kb=$(((bytes2 + 128) * 3 / 2 / 1024))
evictions=$(sql -c "SELECT recsys_cache_stats() ->> 'shared_evictions'")
sql -c "ALTER SYSTEM SET recsys.shared_cache_memory = '${limit_kb}kB'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
# (m and big, unused, are in the area)
expect "the bound evicts" "$(sql <<SQL
SELECT count(*) FROM recommend(5, 5, model => 'm2') \g /dev/null
SELECT concat_ws(' ', s #>> '{shared_models,0,name}', jsonb_array_length(s -> 'shared_models'),
                 (s ->> 'shared_evictions')::int - $evictions)
FROM recsys_cache_stats() s;
SQL
)" "m2 1 2"
# While m2 is in use, m does not fit: served from a private copy, m2 kept.
expect "no room" "$(sql <<'SQL'
SELECT count(*) FROM recommend(5, 5, model => 'm2') \g /dev/null
SELECT count(*) AS served FROM recommend(6, 5, model => 'm') \gset
SELECT concat_ws(' ', :served, s #>> '{shared_models,0,name}', jsonb_array_length(s -> 'shared_models'), s ->> 'decodes')
FROM recsys_cache_stats() s;
SQL
)" "5 m2 1 2"

# Ordinary roles cannot raise server memory.
sql -c "CREATE ROLE shop_reader LOGIN; GRANT recsys_reader TO shop_reader" >/dev/null
err=$(psql -X -q -At -U shop_reader -c "SET recsys.shared_cache_memory = '100GB'" 2>&1 || true)
[[ "$err" == *"cannot be changed now"* ]] || fail "SET recsys.shared_cache_memory by a role: $err"

# 0 turns sharing off: every backend decodes its own copy, as without the preload.
sql -c "ALTER SYSTEM SET recsys.shared_cache_memory = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
expect "sharing off" "$(sql <<'SQL'
SELECT count(*) AS served FROM recommend(7, 5, model => 'm') \gset
SELECT concat_ws(' ', :served, recsys_cache_stats() ->> 'mode');
SQL
)" "5 per-backend"
expect "the area emptied once sharing is off" "$(sql -c "SELECT count(*) FROM recommend(8, 5, model => 'm2')" \
    -c "ALTER SYSTEM SET recsys.shared_cache_memory = '1GB'" -c "SELECT pg_reload_conf()" -c "SELECT pg_sleep(0.5)" \
    -c "SELECT recsys_cache_stats() ->> 'shared_bytes'" | tail -1)" 0
expect "private and shared decodes" \
    "$(sql -c "SELECT string_agg(item_id || ':' || score, ',' ORDER BY rank) FROM recommend(4, 10, model => 'm')")" "$served_shared"
# No leak warnings (a DSA or DSM mapping, a lock) nor crashed backends in the server's log.
if grep -E "WARNING|PANIC|TRAP|terminated by signal|was terminated" "$CLUSTER_DIR/log"; then fail "the server log above"; fi
echo "shared_models: OK"
