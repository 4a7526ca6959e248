#!/usr/bin/env bash
# Runs every test: the core's GoogleTest suites (CMake + CTest, no database),
# then the pg_regress suites against a throwaway PostgreSQL 15 cluster, then
# the core under sanitizers and fuzzing (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

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

echo "== sanitizers and fuzzing"
scripts/sanitize.sh
