#!/usr/bin/env bash
# The citus suite: recsys on a Citus cluster (a coordinator and two workers on
# loopback ports, scripts/citus_cluster.sh) — the model store as a reference
# table, recommend() inside distributed queries, training, evaluation and
# tuning over distributed tables. pg_regress with its own expected output
# (tests/citus/). Skipped, with one line, when Citus is not installed
# (../shared/citus/build.sh installs it on our machines). Needs recsys
# installed (make install). Ports: $RECSYS_CITUS_PORT, +1, +2 (default 54340).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/citus_cluster.sh
if ! citus_installed; then
    echo "citus: not installed (run ../shared/citus/build.sh), suite skipped"
    exit 0
fi
start_citus_cluster recsys_citus
out=$(mktemp -d /tmp/recsys-citus-out.XXXXXX)
[ "$(id -u)" -ne 0 ] || chown postgres: "$out"
rc=0
"$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress" --inputdir=tests/citus --outputdir="$out" \
    --bindir="$PG_BIN" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" --use-existing --dbname=recsys_citus \
    citus || rc=$?
[ $rc -eq 0 ] || cat "$out/regression.diffs" 2>/dev/null || true
rm -rf "$out"
exit $rc
