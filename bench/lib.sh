# Sourced by the benchmarks: a PostgreSQL to run in (the one in PGHOST, or
# a throwaway cluster with the extension built and installed), a fresh
# recsys, and step(), which times one SQL step in its own backend.
if [ -z "${PGHOST:-}" ]; then
    make -j2 >/dev/null && make install >/dev/null
    . scripts/cluster.sh
    start_cluster
fi
psql -X -q -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS recsys CASCADE" -c "CREATE EXTENSION recsys" >/dev/null
export PGOPTIONS="${PGOPTIONS:-} -c search_path=public,recsys"

# step NAME ROWS SQL [EXTRA]: runs SQL in a fresh backend, prints {"step", "rows",
# "seconds", "peak_rss_mb"} merged with the jsonb the query EXTRA returns, if given.
step() {
    local name=$1 rows=$2 sql=$3 extra=${4:-"SELECT '{}'::jsonb"}
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SET recsys.max_threads = 64;
SET recsys.threads = ${RECSYS_THREADS:-1};
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid, clock_timestamp() AS t0 \gset
\o /dev/null
$sql;
\o
SELECT jsonb_build_object('step', '$name', 'rows', ($rows)::bigint,
       'seconds', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3),
       'peak_rss_mb', round(substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\\s+(\\d+) kB')::numeric / 1024, 1))
       || ($extra);
SQL
}


# latencies SCRIPT: runs a pgbench script (one client, prepared statements)
# for $SECONDS_PER_RUN seconds in $WORK, with :nusers set to $N_USERS, and
# prints "p50 p90 p99 calls", latencies in microseconds, the first (cold)
# call left out.
latencies() {
    rm -f "$WORK"/log*
    (cd "$WORK" && pgbench -n -c 1 -M prepared -T "$SECONDS_PER_RUN" -D nusers="$N_USERS" -f "$1" -l --log-prefix=log \
        >/dev/null 2>&1)
    cat "$WORK"/log* | python3 -c '
import sys
lat = [int(l.split()[2]) for l in sys.stdin if l.split()[1] != "0"]
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(q(0.5), q(0.9), q(0.99), len(lat))'
}

# load_retail_pairs FILE: the online-retail purchases (purchases.csv.gz) as
# retail_raw, its distinct bought (customer, item) pairs as retail_pairs
# (returns and cancellations out), and bench_users numbering the customers
# 1..n for random picks.
load_retail_pairs() {
    psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
DROP TABLE IF EXISTS retail_raw, retail_pairs, bench_users;
CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int, invoice_date timestamp,
                         unit_price numeric, customer_id numeric, country text);
COPY retail_raw FROM PROGRAM 'gzip -dc $(realpath "$1")' WITH (FORMAT csv, HEADER true);
CREATE TABLE retail_pairs AS
SELECT DISTINCT customer_id::bigint AS user_id, stock_code AS item_id FROM retail_raw
 WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE 'C%';
CREATE TABLE bench_users AS SELECT row_number() OVER (ORDER BY user_id) AS n, user_id
  FROM (SELECT DISTINCT user_id FROM retail_pairs) u;
ALTER TABLE bench_users ADD PRIMARY KEY (n);
ANALYZE retail_pairs, bench_users;
SQL
}
