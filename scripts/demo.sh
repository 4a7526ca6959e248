#!/usr/bin/env bash
# The recsys demo, end to end: installs the dependencies, builds and installs
# the extension, starts a throwaway PostgreSQL, loads real purchases, trains
# and prints recommendations. Run as root on Debian 12 (or as a user who
# already has the packages from scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j2 >/dev/null
make install >/dev/null
. scripts/cluster.sh
start_cluster
chmod o+rx . data 2>/dev/null || true
psql -X -q -f scripts/demo.sql
