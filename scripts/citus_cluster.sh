# Sourced by tests/citus.sh and bench/citus.sh: a throwaway Citus cluster, a
# coordinator and two workers, each its own PostgreSQL 15 cluster in a
# temporary folder on a loopback port, run as an unprivileged user
# (PostgreSQL refuses root). Needs Citus installed into PostgreSQL 15
# (citus.so in pg_config --pkglibdir; ../shared/citus/build.sh builds it).
#
#   citus_installed                   true if citus.so is installed
#   start_citus_cluster DB            starts the three nodes (ports
#                                     $RECSYS_CITUS_PORT, +1, +2; default
#                                     54340), creates database DB on each,
#                                     the extensions citus and recsys, and
#                                     registers the workers; sets PGHOST,
#                                     PGPORT, PGUSER, PGDATABASE to the
#                                     coordinator and CITUS_WORKER_PORTS
#   stop_citus_cluster                stops the nodes and removes the folders
. "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

citus_installed() { [ -e "$("$PG_BIN/pg_config" --pkglibdir)/citus.so" ]; }

start_citus_cluster() {
    local db=$1 base=${RECSYS_CITUS_PORT:-54340} port node
    new_cluster_folder recsys-citus
    CITUS_DIR=$CLUSTER_ROOT
    CITUS_RUN_AS=("${RUN_AS[@]}")
    CITUS_PORTS=("$base" "$((base + 1))" "$((base + 2))")
    CITUS_WORKER_PORTS=("${CITUS_PORTS[@]:1}")
    trap stop_citus_cluster EXIT
    for port in "${CITUS_PORTS[@]}"; do
        node=$CITUS_DIR/$port
        "${CITUS_RUN_AS[@]}" mkdir "$node"
        "${CITUS_RUN_AS[@]}" "$PG_BIN/initdb" -D "$node/data" -U "$PGUSER" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        # The nodes reach each other over TCP on loopback (trust: throwaway).
        cat >>"$node/data/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$node'
max_worker_processes = 16
max_connections = 100
CONF
        OMP_WAIT_POLICY=PASSIVE "${CITUS_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$node/data" -l "$node/log" -w start >/dev/null
    done
    export PGHOST=127.0.0.1 PGPORT=$base PGDATABASE=$db
    for port in "${CITUS_PORTS[@]}"; do
        psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "CREATE DATABASE $db" >/dev/null
        psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d "$db" -c "CREATE EXTENSION citus" >/dev/null
    done
    # recsys on the coordinator: citus_add_node creates it on each worker
    # (an extension is propagated with the rest of the metadata).
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', $base);
CREATE EXTENSION recsys;
SELECT citus_add_node('127.0.0.1', ${CITUS_WORKER_PORTS[0]});
SELECT citus_add_node('127.0.0.1', ${CITUS_WORKER_PORTS[1]});
SQL
}

stop_citus_cluster() {
    [ -n "${CITUS_DIR:-}" ] || return 0
    local port
    for port in "${CITUS_PORTS[@]}"; do
        "${CITUS_RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$CITUS_DIR/$port/data" -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$CITUS_DIR"
    CITUS_DIR=
}
