# Sourced by the test and demo scripts: a throwaway PostgreSQL 15 cluster in
# a temporary folder, run as an unprivileged user (PostgreSQL refuses root).
# Sets PGHOST, PGPORT, PGUSER, PGDATABASE for the caller.
# The server of the pg_config first on PATH (Debian: /usr/lib/postgresql/15/bin).
PG_BIN=$(pg_config --bindir)

# A temporary folder for clusters (/tmp/PREFIX.XXXXXX), owned by the user
# the servers run as: postgres when we are root. Sets CLUSTER_ROOT, RUN_AS
# (the command prefix that runs as that user) and PGUSER.
new_cluster_folder() {
    CLUSTER_ROOT=$(mktemp -d "/tmp/$1.XXXXXX")
    RUN_AS=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$CLUSTER_ROOT"
        RUN_AS=(runuser -u postgres --)
        export PGUSER=postgres
    else
        export PGUSER=$(id -un)
    fi
}

start_cluster() {
    new_cluster_folder recsys-pg
    CLUSTER_DIR=$CLUSTER_ROOT
    export PGHOST=$CLUSTER_DIR PGPORT=${RECSYS_PGPORT:-54329} PGDATABASE=postgres
    "${RUN_AS[@]}" "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U "$PGUSER" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # pg_cron, when installed (postgresql-15-cron), for tests/cron.sh: its
    # scheduler keeps its jobs in database postgres and reaches the cluster
    # through the socket folder. recsys itself with RECSYS_PRELOAD=1: its
    # models shared between backends (tests/shared_models.sh).
    local preload=()
    if [ -e "$("$PG_BIN/pg_config" --pkglibdir)/pg_cron.so" ]; then
        preload+=(pg_cron)
        cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
cron.database_name = 'postgres'
cron.host = '$CLUSTER_DIR'
CONF
    fi
    [ -z "${RECSYS_PRELOAD:-}" ] || preload+=(recsys)
    if [ ${#preload[@]} -gt 0 ]; then
        echo "shared_preload_libraries = '$(IFS=,; echo "${preload[*]}")'" >>"$CLUSTER_DIR/data/postgresql.conf"
    fi
    pg_ctl_cluster start
    trap stop_cluster EXIT
}

# pg_ctl_cluster start|restart [extra server options]
pg_ctl_cluster() {
    # XGBoost's OpenMP threads sleep rather than spin while they wait (README, Install).
    OMP_WAIT_POLICY=PASSIVE "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/log" -w "$1" \
        -o "-p $PGPORT -k $CLUSTER_DIR -c listen_addresses='' -c max_worker_processes=8 -c max_parallel_workers_per_gather=2 ${2:-}" >/dev/null
}

stop_cluster() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$CLUSTER_DIR"
    CLUSTER_DIR=
}
