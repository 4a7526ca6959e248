#!/usr/bin/env bash
# ALTER EXTENSION recsys UPDATE from 0.1.0 keeps every stored model serving
# the same recommendations. Builds and installs 0.1.0 from its commit, stores
# models with it, reinstalls this tree, updates, and compares; then checks
# that the updated extension has the same objects as a fresh CREATE EXTENSION.
# Needs PGHOST/PGPORT/PGUSER of a running cluster (as a superuser) and the
# right to install into this PostgreSQL. Leaves this tree installed.
# RECSYS_OLD_BUILD=dir: use 0.1.0 already built in dir instead of building it.
set -euo pipefail
cd "$(dirname "$0")/.."
from=f33e93b  # 0.1.0: the last commit before the schema recsys (CHANGELOG.md)
from_version=0.1.0

if ! git cat-file -e "$from^{commit}" 2>/dev/null; then
    echo "upgrade $from_version -> current: SKIPPED, commit $from is not in this clone" \
         "(shallow? git fetch --unshallow)"
    exit 0
fi

to_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" recsys.control)
sharedir=$(pg_config --sharedir)/extension
old_script_was_there=$([ -e "$sharedir/recsys--$from_version.sql" ] && echo yes || echo no)
tmp=$(mktemp -d /tmp/recsys-upgrade.XXXXXX)
dbs=(recsys_upgrade recsys_upgrade_fresh recsys_upgrade_restored)
finish() {
    local rc=$?
    trap - EXIT
    # This tree, installed again whatever happened above.
    if ! make install >/dev/null 2>"$tmp/install.log"; then
        cat "$tmp/install.log" >&2
        echo "upgrade: FAILED to reinstall this tree" >&2
        rc=1
    fi
    [ "$old_script_was_there" = yes ] || rm -f "$sharedir/recsys--$from_version.sql"
    for db in "${dbs[@]}"; do dropdb --if-exists "$db" 2>/dev/null || true; done
    rm -rf "$tmp"
    exit "$rc"
}
trap finish EXIT
fail() { echo "upgrade $from_version -> $to_version: FAILED: $*" >&2; exit 1; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- 0.1.0
old=${RECSYS_OLD_BUILD:-$tmp/old}
if [ -z "${RECSYS_OLD_BUILD:-}" ]; then
    mkdir "$old"
    git archive "$from" | tar -x -C "$old"
    make -C "$old" -j2 >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log" >&2; fail "could not build $from"; }
fi
make -C "$old" install >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log" >&2; fail "could not install $from"; }

for db in "${dbs[@]}"; do dropdb --if-exists "$db" 2>/dev/null; createdb "$db"; done
sql -d recsys_upgrade >/dev/null <<SQL
CREATE EXTENSION recsys VERSION '$from_version';
CREATE TABLE purchases AS
SELECT u AS customer_id, 'SKU' || ((u * 7 + i * i * 3 + u % 5) % 40) AS stock_code, 1 + (u + i) % 4 AS quantity
  FROM generate_series(1, 300) u, generate_series(1, 2 + u % 9) i;
SELECT train('knn', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM purchases');
SELECT train('knn_text_users', 'itemknn',
             'SELECT ''c'' || customer_id AS user_id, stock_code AS item_id FROM purchases', '{"neighbours": 5}');
SELECT train('ease', 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases', '{"lambda": 50}');
SELECT train('als', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM purchases',
             '{"factors": 16, "iterations": 5, "seed": 7}');
SELECT train('bpr', 'bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases',
             '{"factors": 8, "iterations": 5, "seed": 7}');
SELECT train('popular', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases');
SQL

# Every model's top 5 for some users (one unknown: popularity's fallback), as
# text with the scores in full; :s is the schema the functions live in.
recommendations() {
    sql -d "$1" -v s="$2" <<'SQL'
SELECT m.name || ' ' || u.id || ':' || coalesce(string_agg(' ' || r.item_id || '=' || r.score || '/' || r.source,
                                                             '' ORDER BY r.rank), ' none')
  FROM :s.recsys_models m
       CROSS JOIN (SELECT g::text AS id FROM generate_series(1, 300, 23) g UNION ALL SELECT '100000') u
       LEFT JOIN LATERAL (SELECT * FROM :s.recommend(u.id::bigint, 5, m.name) WHERE m.name <> 'knn_text_users'
                          UNION ALL
                          SELECT * FROM :s.recommend('c' || u.id, 5, m.name) WHERE m.name = 'knn_text_users') r ON true
 GROUP BY m.name, u.id
 ORDER BY m.name, u.id::bigint;
SQL
}
# The same items in the same order from the same source, and the same scores
# up to float rounding (0.2.0 scores a factor model with other kernels, whose
# sums round differently in the last bits); prints the diff if not.
same_recommendations() {
    if [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] && paste -d '\n' "$1" "$2" | awk '
        NR % 2 == 1 { n = split($0, a, " "); next }
        {
            if (split($0, b, " ") != n) exit 1
            for (i = 1; i <= n; i++) {
                if (a[i] == b[i]) continue
                split(a[i], x, "[=/]"); split(b[i], y, "[=/]")
                if (x[1] != y[1] || x[3] != y[3]) exit 1
                d = x[2] - y[2]; if (d < 0) d = -d
                m = x[2] < 0 ? -x[2] : x[2]
                if (d > 1e-5 * (m > 1 ? m : 1)) exit 1
            }
        }'; then
        return 0
    fi
    diff "$1" "$2"
    return 1
}
recommendations recsys_upgrade public >"$tmp/before"
n_models=$(sql -d recsys_upgrade -c "SELECT count(*) FROM public.recsys_models")
[ "$n_models" -eq 6 ] || fail "$n_models models stored with $from_version, expected 6"

# ---------------------------------------------------------------- update
make install >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "could not install this tree"; }
got=$(sql -d recsys_upgrade -c "ALTER EXTENSION recsys UPDATE" -c "SHOW search_path") ||
    fail "ALTER EXTENSION recsys UPDATE failed"
[ "$got" = '"$user", public' ] || fail "the update left the session's search_path at '$got'"
got=$(sql -d recsys_upgrade -c "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension
                                 WHERE extname = 'recsys'")
[ "$got" = "$to_version recsys" ] || fail "the extension is '$got' after the update, expected '$to_version recsys'"

recommendations recsys_upgrade recsys >"$tmp/after"
if ! same_recommendations "$tmp/before" "$tmp/after" >"$tmp/diff"; then
    head -40 "$tmp/diff" >&2
    fail "recommendations differ after the update (< before, > after)"
fi
# The updated database survives pg_dump and restore (its table's columns are
# in another order than a fresh install's).
pg_dump -d recsys_upgrade | sql -d recsys_upgrade_restored >/dev/null || fail "could not restore a dump of the updated database"
recommendations recsys_upgrade_restored recsys >"$tmp/restored"
if ! same_recommendations "$tmp/before" "$tmp/restored" >"$tmp/diff"; then
    head -40 "$tmp/diff" >&2
    fail "recommendations differ after the update, pg_dump and restore (< before, > after)"
fi

# The stored rows got the new columns, describe_model reads every model,
# nothing is left in the old schema, and a new model can be trained.
got=$(sql -d recsys_upgrade <<'SQL'
SELECT count(*) FILTER (WHERE m.owner = (SELECT r.rolname FROM pg_roles r JOIN pg_extension e ON r.oid = e.extowner
                                          WHERE e.extname = 'recsys')
                          AND m.model_bytes = octet_length(m.model)
                          AND recsys.describe_model(m.name) ->> 'algorithm' = m.algorithm
                          AND recsys.describe_model(m.name) ->> 'owner' = m.owner)
       || ' ' || count(DISTINCT m.version)
  FROM recsys.recsys_models m;
SQL
)
[ "$got" = "$n_models $n_models" ] ||
    fail "stored models after the update: '$got' (described with owner and size, distinct versions), expected '$n_models $n_models'"
got=$(sql -d recsys_upgrade -c "SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
                                       + (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
                                                                          AND relname LIKE 'recsys%')")
[ "$got" = 0 ] || fail "$got functions or recsys relations left in schema public"
got=$(sql -d recsys_upgrade <<'SQL'
SELECT recsys.train('after_update', 'ease', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases')
       ->> 'algorithm';
SELECT count(*) FROM recsys.recommend(1, 5, 'after_update');
SQL
)
[ "$got" = $'ease\n5' ] || fail "training and serving a new model after the update gave '$got'"

# ------------------------------------------ the same as a fresh install
# Members, dependencies, definitions, comments, privileges and the table's
# columns (by name: the added ones come last), policies and constraints.
shape() {
    sql -d "$1" <<'SQL'
SET search_path = pg_catalog;
WITH ext AS (SELECT oid, extnamespace FROM pg_extension WHERE extname = 'recsys'),
     members AS (SELECT d.classid, d.objid FROM pg_depend d, ext
                  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'schema ' || extnamespace::regnamespace FROM ext
UNION ALL
SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
UNION ALL
SELECT 'extension depends on ' || pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) || ' ' || d.deptype::text
  FROM pg_depend d, ext WHERE d.classid = 'pg_extension'::regclass AND d.objid = ext.oid
UNION ALL
SELECT 'config ' || c::regclass FROM ext, pg_extension e, unnest(e.extconfig) c WHERE e.oid = ext.oid
UNION ALL
SELECT 'definition ' || p.oid::regprocedure || ' '
       || md5(CASE WHEN p.prokind = 'a' THEN (SELECT a::text FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                   ELSE pg_get_functiondef(p.oid) END)
       || ' ' || coalesce(p.proacl::text, 'default')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'comment ' || pg_describe_object(c.classoid, c.objoid, c.objsubid) || ' ' || md5(c.description)
  FROM members m JOIN pg_description c ON c.classoid = m.classid AND c.objoid = m.objid
UNION ALL
SELECT 'initial privileges ' || pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' ' || i.initprivs::text
  FROM pg_init_privs i WHERE i.privtype = 'e'
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' ' || c.relrowsecurity || ' ' || coalesce(c.relacl::text, '')
  FROM pg_class c, ext WHERE c.relnamespace = ext.extnamespace
UNION ALL
SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
       || a.attstorage::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || coalesce(a.attacl::text, '')
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'recsys.recsys_models'::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'recsys.recsys_models'::regclass
UNION ALL
SELECT 'policy ' || polname || ' ' || polcmd::text || ' ' || polroles::text || ' ' || coalesce(pg_get_expr(polqual, polrelid), '')
       || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
  FROM pg_policy WHERE polrelid = 'recsys.recsys_models'::regclass
UNION ALL
SELECT 'schema privileges ' || coalesce(nspacl::text, '') FROM pg_namespace n, ext WHERE n.oid = ext.extnamespace
ORDER BY 1;
SQL
}
sql -d recsys_upgrade_fresh -c "CREATE EXTENSION recsys"
shape recsys_upgrade >"$tmp/shape_updated"
shape recsys_upgrade_fresh >"$tmp/shape_fresh"
if ! diff "$tmp/shape_fresh" "$tmp/shape_updated" >"$tmp/diff"; then
    head -40 "$tmp/diff" >&2
    fail "the updated extension differs from a fresh CREATE EXTENSION (< fresh, > updated)"
fi

echo "upgrade $from_version -> $to_version: $n_models models, recommendations the same (scores up to float rounding)"
