#!/usr/bin/env bash
# A version switch reaches every serving backend at its next call: a
# long-lived session serves (and caches) a model, another session retrains it
# and rolls it back with activate(), and each time the long-lived session's
# next call serves the version just made active, with one decode per switch.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with recsys installed.
set -euo pipefail
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
db=recsys_versions
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
coproc SERVER { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db"; }
finish() {
    local rc=$?
    trap - EXIT
    [ -z "${SERVER_PID:-}" ] || { echo '\q' >&"${SERVER[1]}"; wait "$SERVER_PID" 2>/dev/null || true; }
    dropdb --if-exists "$db" 2>/dev/null || true
    exit "$rc"
}
trap finish EXIT
fail() { echo "versions: FAILED: $*" >&2; exit 1; }
# One line from the long-lived session: the users of the model it serves (read
# from the decoded model), its decodes so far and (with an argument) how many
# times it has looked a model's active version up in the store.
served() {
    local extra=""
    [ -z "${1:-}" ] || extra=" || ' ' || (recsys.recsys_cache_stats() ->> 'lookups')"
    echo "SELECT (recsys.recsys_describe_stored('shop') ->> 'users') || ' ' || (recsys.recsys_cache_stats() ->> 'decodes')$extra;" \
        >&"${SERVER[1]}"
    local line
    read -r -t 60 line <&"${SERVER[0]}" || fail "the serving session did not answer"
    echo "$line"
}

sql -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION recsys;
CREATE TABLE purchases AS
SELECT c AS customer_id, 'SKU' || ((c * 7 + i * 3) % 30) AS stock_code FROM generate_series(1, 200) c, generate_series(1, 6) i;
SELECT recsys.train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases');
SQL
first=$(sql -d "$db" -c "SELECT version FROM recsys.recsys_models WHERE name = 'shop' AND active")

got=$(served); [ "$got" = "200 1" ] || fail "first call served '$got', expected '200 1'"
got=$(served); [ "$got" = "200 1" ] || fail "second call served '$got', expected '200 1' (cached)"
sql -d "$db" >/dev/null <<'SQL'
INSERT INTO purchases SELECT c, 'SKU' || (c % 30) FROM generate_series(201, 260) c;
SELECT recsys.retrain('shop');
SQL
got=$(served); [ "$got" = "260 2" ] || fail "after a retrain in another session served '$got', expected '260 2'"
sql -d "$db" -c "SELECT recsys.activate('shop', $first)" >/dev/null
got=$(served); [ "$got" = "200 3" ] || fail "after activate(previous) in another session served '$got', expected '200 3'"
got=$(served); [ "$got" = "200 3" ] || fail "then served '$got', expected '200 3' (cached)"
# Until the store changes, serving does not read it: no lookup per call.
got=$(served lookups); lookups=${got##* }
got=$(served lookups); [ "$got" = "200 3 $lookups" ] || fail "unchanged store: served '$got', expected '200 3 $lookups'"
# A write that rolls back in another session changes nothing served.
sql -d "$db" >/dev/null <<'SQL'
BEGIN;
SELECT recsys.retrain('shop');
ROLLBACK;
SQL
got=$(served); [ "$got" = "200 3" ] || fail "after a rolled-back retrain in another session served '$got', expected '200 3'"
# A drop and a new model under the same name in another session.
sql -d "$db" >/dev/null <<'SQL'
SELECT recsys.drop_model('shop');
DELETE FROM purchases WHERE customer_id > 150;
SELECT recsys.train('shop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases');
SQL
got=$(served); [ "$got" = "150 4" ] || fail "after a drop and a new store in another session served '$got', expected '150 4'"
echo "versions: a long-lived session serves each newly active version from its next call, reading the store only after it changed"
