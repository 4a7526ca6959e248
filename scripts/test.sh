#!/usr/bin/env bash
# Runs every test: the core's GoogleTest suites (CMake + CTest, no database),
# then the pg_regress suites against a throwaway PostgreSQL 15 cluster, then
# the core under sanitizers and fuzzing (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Citus for tests/citus.sh, when its build script is beside the repo (our
# machines) and it is not installed yet: built in the background, so that
# its ~12 minutes overlap the core's build and tests.
citus_build=${RECSYS_CITUS_BUILD:-../shared/citus/build.sh}
citus_pid=
if [ -f "$citus_build" ] && [ ! -e "$(pg_config --pkglibdir)/citus.so" ] && [ "$(id -u)" -eq 0 ]; then
    citus_log=$(mktemp /tmp/recsys-citus-build.XXXXXX)
    echo "== building Citus in the background (log: $citus_log)"
    bash "$citus_build" >"$citus_log" 2>&1 &
    citus_pid=$!
fi

echo "== core tests (GoogleTest)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 >/dev/null
(cd build && ctest --output-on-failure -j2)

echo "== extension tests (pg_regress)"
make -j2 >/dev/null
make install >/dev/null
. scripts/cluster.sh
start_cluster
if ! make installcheck; then
    cat regression.diffs 2>/dev/null || true
    exit 1
fi
tests/dump_restore.sh
tests/readme_examples.sh
tests/key_logging.sh "$CLUSTER_DIR/log"
tests/upgrade.sh
tests/versions.sh
tests/cron.sh
tests/shared_models.sh
if [ -n "$citus_pid" ] && ! wait "$citus_pid"; then
    echo "the Citus build failed:" >&2
    tail -n 40 "$citus_log" >&2
    exit 1
fi
tests/citus.sh

echo "== sanitizers and fuzzing"
scripts/sanitize.sh
