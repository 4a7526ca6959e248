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

