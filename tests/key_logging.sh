#!/usr/bin/env bash
# The server's pseudonymisation key never reaches the server log: not as the
# STATEMENT of a failed SET, nor through log_statement = 'all' when ALTER
# SYSTEM sets it. A marker statement checks that the log is being written.
# Usage: key_logging.sh SERVER_LOG (of a running cluster in PGHOST/PGPORT).
set -euo pipefail
log=$1
secret="key-$RANDOM-$RANDOM-$RANDOM"
marker="marker-$RANDOM-$RANDOM"
run() { psql -X -q -c "LOAD 'recsys'" -c "SET log_statement = 'all'" "$@" >/dev/null 2>&1 || true; }
run -c "SELECT '$marker'"
run -c "SET recsys.pseudonymize_key = '$secret'"
run -c "ALTER SYSTEM SET recsys.pseudonymize_key = '$secret'" -c "ALTER SYSTEM RESET recsys.pseudonymize_key"
run -c "ALTER DATABASE postgres SET recsys.pseudonymize_key = '$secret'"
sleep 0.5
if ! grep -q "$marker" "$log"; then
    echo "key logging: FAILED (the server log $log shows no statement: cannot check)" >&2
    exit 1
fi
if grep -q "$secret" "$log"; then
    grep -n "$secret" "$log" >&2
    echo "key logging: FAILED (the key is in the server log)" >&2
    exit 1
fi
echo "key logging: the key is not in the server log"
