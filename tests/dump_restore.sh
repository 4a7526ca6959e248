#!/usr/bin/env bash
# Models survive pg_dump / restore: dump a database with a trained model,
# restore it into a new one, and compare the model bytes and recommendations.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with recsys installed.
set -euo pipefail
for db in recsys_dump_src recsys_dump_dst; do dropdb --if-exists "$db" 2>/dev/null; createdb "$db"; done
psql -X -q -v ON_ERROR_STOP=1 -d recsys_dump_src >/dev/null <<'SQL'
CREATE EXTENSION recsys;
SET search_path = public, recsys;
CREATE TABLE purchases AS SELECT c AS customer_id, 'SKU' || ((c * 7 + i * 3) % 30) AS stock_code
FROM generate_series(1, 200) c, generate_series(1, 6) i;
SELECT train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases') IS NOT NULL;
SQL
pg_dump -d recsys_dump_src | psql -X -q -v ON_ERROR_STOP=1 -d recsys_dump_dst >/dev/null
query="SELECT md5(model) || ':' || owner || ':' || (SELECT string_agg(item_id, ',' ORDER BY rank)
                                                   FROM recsys.recommend(5, 5, model => 'shop'))
       FROM recsys.recsys_models WHERE name = 'shop'"
src=$(psql -X -At -d recsys_dump_src -c "$query")
dst=$(psql -X -At -d recsys_dump_dst -c "$query")
for db in recsys_dump_src recsys_dump_dst; do dropdb "$db"; done
if [ -n "$src" ] && [ "$src" = "$dst" ]; then
    echo "dump/restore: model and recommendations identical"
else
    echo "dump/restore: FAILED (before: '$src', after: '$dst')" >&2
    exit 1
fi
