#!/usr/bin/env bash
# Training over a Citus-distributed purchases table (issue 17), against the
# same rows in one table on the coordinator. Starts its own throwaway Citus
# cluster (scripts/citus_cluster.sh: a coordinator and two workers on one
# machine, ports $RECSYS_CITUS_PORT..+2, default 54340); builds and installs
# the extension first (unless RECSYS_SKIP_INSTALL is set). One JSON line per training,
# "path" saying how it trained:
#   "one_node"  recsys_train over the table on the coordinator
#   "rows"      recsys_train over the distributed table: Citus ships every row
#   "shards"    what train_distributed() runs: recsys_train_shard on each
#               shard (run_command_on_shards), recsys_train_shards merging the
#               shards' parts on the coordinator
# with
#   bytes_received   what the workers sent the coordinator: for "rows" what
#                    Citus reports ("Tuple data received from nodes", EXPLAIN
#                    ANALYZE of the training aggregate), for "shards" the
#                    shards' results (base64 text), 0 on one node
#   rows_bytes       the size of the rows read (sum of pg_column_size)
#   seconds, peak_rss_mb   the coordinator backend's time and peak memory
# one per data set with the top-10 agreement of the distributed models
# (train() over the distributed table, and train_distributed()) with the
# single-node one (share of users with the same top-10 list), and one with
# the size of what item-kNN's sufficient statistics per shard would be
# (distinct co-occurring item pairs in each shard, summed: DESIGN.md says
# why the shards send their rows built instead).
# Data: online-retail (../shared/data/online-retail, if present) and a
# synthetic table of its shape (92 rows per customer, 4,000 items, skewed
# popularity) at $CITUS_BENCH_ROWS rows and twice that (default 1,000,000).
# One machine with 2 cores: the point is what crosses the network and what
# the coordinator holds, not parallel speed-up.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/citus_cluster.sh
if ! citus_installed; then
    echo '{"skipped": "citus not installed (run ../shared/citus/build.sh)"}'
    exit 0
fi
[ -n "${RECSYS_SKIP_INSTALL:-}" ] || { make -j2 >/dev/null && make install >/dev/null; }
start_citus_cluster recsys_bench
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
sql >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT recsys.distribute_store();
-- The plan of a query, run (EXPLAIN ANALYZE), as jsonb.
CREATE FUNCTION bench_explain(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN plan::jsonb;
END
$$;
-- "767 kB" as bytes.
CREATE FUNCTION bench_bytes(size text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (m[1]::numeric * CASE m[2] WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1024 * 1024 WHEN 'GB' THEN 1024 ^ 3 ELSE 1 END)::bigint
      FROM regexp_match(size, '([0-9.]+) *(bytes|kB|MB|GB)?') m
$$;
SQL

# measure SET TABLE ALGORITHM: one training, in a fresh coordinator backend
# (its time and peak memory taken right after it; the rows counted after).
measure() {
    local set=$1 table=$2 algorithm=$3
    sql <<SQL
SET client_min_messages = warning;
SET recsys.threads = 1;
SELECT pg_backend_pid() AS pid, clock_timestamp() AS t0 \gset
SELECT bench_explain(\$q\$SELECT recsys.recsys_train('$algorithm', customer_id, stock_code, 1.0::float8, '{}'::jsonb)
                          FROM $table\$q\$) AS plan \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3) AS seconds,
       round(substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\\s+(\\d+) kB')::numeric / 1024, 1) AS peak \gset
SELECT jsonb_build_object('set', '$set', 'table', '$table', 'algorithm', '$algorithm',
       'path', CASE WHEN '$table' LIKE '%_local' THEN 'one_node' ELSE 'rows' END,
       'rows', (SELECT count(*) FROM $table),
       'rows_bytes', (SELECT sum(pg_column_size(t.*)) FROM $table t),
       'bytes_received', coalesce((SELECT sum(bench_bytes(v #>> '{}'))
                                     FROM jsonb_path_query(:'plan'::jsonb, 'strict \$.**."Tuple data received from nodes"') v), 0),
       'seconds', :seconds, 'peak_rss_mb', :peak);
SQL
}

# measure_shards SET TABLE ALGORITHM: one training through the shards' parts,
# as train_distributed() runs it (without storing the model), in a fresh
# coordinator backend.
measure_shards() {
    local set=$1 table=$2 algorithm=$3
    sql <<SQL
SET client_min_messages = warning;
SET recsys.threads = 1;
SELECT pg_backend_pid() AS pid, clock_timestamp() AS t0 \gset
SELECT sum(octet_length(r.result)) AS received,
       octet_length(recsys.recsys_train_shards('$algorithm', recsys.recsys_shard_result(r.shardid, r.success, r.result),
                                               '{}')) AS model_bytes
  FROM run_command_on_shards('$table', recsys.recsys_shard_command('$algorithm', '$table', 'customer_id',
                                                                   'stock_code', NULL)) r \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3) AS seconds,
       round(substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\\s+(\\d+) kB')::numeric / 1024, 1) AS peak \gset
SELECT jsonb_build_object('set', '$set', 'table', '$table', 'algorithm', '$algorithm', 'path', 'shards',
       'rows', (SELECT count(*) FROM $table),
       'rows_bytes', (SELECT sum(pg_column_size(t.*)) FROM $table t),
       'bytes_received', :received, 'seconds', :seconds, 'peak_rss_mb', :peak);
SQL
}

# cooccurrence SET TABLE: distinct co-occurring item pairs (i < j) per shard,
# summed: what item-kNN's sufficient statistics would send (at least 8 bytes
# each: two item indexes, or one and a gap, and a count).
cooccurrence() {
    local set=$1 table=$2
    sql <<SQL
SELECT jsonb_build_object('set', '$set', 'table', '$table', 'cooccurring_pairs_per_shard_summed', sum(r.result::bigint),
       'distinct_pairs', (SELECT count(*) FROM (SELECT DISTINCT customer_id, stock_code FROM $table) p))
  FROM run_command_on_shards('$table', \$c\$SELECT count(*) FROM (SELECT DISTINCT a.stock_code, b.stock_code
                                              FROM %1\$s a JOIN %1\$s b USING (customer_id)
                                             WHERE a.stock_code < b.stock_code) p\$c\$) r;
SQL
}

# agreement SET LOCAL DISTRIBUTED ALGORITHM: trains through train() on both
# tables and through train_distributed() on the distributed one, and
# compares every user's top-10 with the single-node model's.
agreement() {
    local set=$1 local_table=$2 table=$3 algorithm=$4
    sql <<SQL
SET client_min_messages = warning;
\o /dev/null
SELECT recsys.train('b_local', '$algorithm', 'SELECT customer_id AS user_id, stock_code AS item_id FROM $local_table') IS NULL;
SELECT recsys.train('b_dist', '$algorithm', 'SELECT customer_id AS user_id, stock_code AS item_id FROM $table') IS NULL;
SELECT recsys.train_distributed('b_shards', '$algorithm', '$table', 'customer_id', 'stock_code') IS NULL;
\o
WITH users AS (SELECT DISTINCT customer_id AS u FROM $local_table),
     l AS (SELECT u, array_agg(r.item_id ORDER BY r.rank) AS top FROM users, recsys.recommend(u, 10, 'b_local') r GROUP BY u),
     d AS (SELECT u, array_agg(r.item_id ORDER BY r.rank) AS top FROM users, recsys.recommend(u, 10, 'b_dist') r GROUP BY u),
     s AS (SELECT u, array_agg(r.item_id ORDER BY r.rank) AS top FROM users, recsys.recommend(u, 10, 'b_shards') r GROUP BY u)
SELECT jsonb_build_object('set', '$set', 'algorithm', '$algorithm', 'users', count(*),
       'same_top10_share', round(avg((l.top = d.top)::int)::numeric, 4),
       'same_model_bytes', (SELECT a.model = b.model FROM recsys.recsys_models a, recsys.recsys_models b
                             WHERE a.name = 'b_local' AND a.active AND b.name = 'b_dist' AND b.active),
       'shards_same_top10_share', round(avg((l.top = s.top)::int)::numeric, 4),
       'shards_same_model_bytes', (SELECT a.model = b.model FROM recsys.recsys_models a, recsys.recsys_models b
                                    WHERE a.name = 'b_local' AND a.active AND b.name = 'b_shards' AND b.active))
  FROM l JOIN d USING (u) JOIN s USING (u);
SQL
}

DATA=../shared/data/online-retail/purchases.csv.gz
if [ -f "$DATA" ]; then
    sql >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                         unit_price numeric, customer_id numeric, country text);
COPY retail_raw FROM PROGRAM 'gzip -dc $(realpath $DATA)' WITH (FORMAT csv, HEADER true);
CREATE TABLE retail_local AS
SELECT customer_id::bigint AS customer_id, stock_code FROM retail_raw
 WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE 'C%';
CREATE TABLE retail AS SELECT * FROM retail_local;
SELECT create_distributed_table('retail', 'customer_id', shard_count => 4);
SELECT truncate_local_data_after_distributing_table('retail');
ANALYZE retail_local;
SQL
    for a in popularity itemknn ease; do
        measure online-retail retail_local $a
        measure online-retail retail $a
        measure_shards online-retail retail $a
        agreement online-retail retail_local retail $a
    done
    cooccurrence online-retail retail
fi

rows=${CITUS_BENCH_ROWS:-1000000}
for n in "$rows" "$((rows * 2))"; do
    sql >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS synth_local, synth;
CREATE TABLE synth_local AS
SELECT (r / 92)::bigint AS customer_id, 'S' || floor(4000 * power(random(), 2))::int AS stock_code
  FROM generate_series(0, $n - 1) r;
CREATE TABLE synth AS SELECT * FROM synth_local;
SELECT create_distributed_table('synth', 'customer_id', shard_count => 4);
SELECT truncate_local_data_after_distributing_table('synth');
ANALYZE synth_local;
SQL
    for a in popularity itemknn; do
        measure "synthetic_$n" synth_local $a
        measure "synthetic_$n" synth $a
        measure_shards "synthetic_$n" synth $a
    done
    [ "$n" != "$rows" ] || cooccurrence "synthetic_$n" synth
done
