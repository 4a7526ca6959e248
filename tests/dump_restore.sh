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
-- versions: an older one active again, a newer one kept; a recipe written by
-- a non-superuser keeps its writer through the restore
SELECT retrain('shop', keep => 5) IS NOT NULL;
SELECT activate('shop', (SELECT min(version) FROM model_versions('shop'))) IS NOT NULL;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'recsys_dump_trainer') THEN
        CREATE ROLE recsys_dump_trainer IN ROLE recsys_trainer;
    END IF;
END $$;
GRANT SELECT ON purchases TO recsys_dump_trainer;
SET ROLE recsys_dump_trainer;
SELECT train('shop2', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases') IS NOT NULL;
RESET ROLE;
SQL
pg_dump -d recsys_dump_src | psql -X -q -v ON_ERROR_STOP=1 -d recsys_dump_dst >/dev/null
query="SELECT md5(model) || ':' || owner || ':' || (SELECT string_agg(item_id, ',' ORDER BY rank)
                                                   FROM recsys.recommend(5, 5, model => 'shop'))
       || ':' || (SELECT string_agg(v.name || '/' || v.version || '/' || v.active || '/' || coalesce(v.recipe ->> 'role', '-'),
                                    ',' ORDER BY v.name, v.version) FROM recsys.recsys_models v)
       FROM recsys.recsys_models WHERE name = 'shop' AND active"
src=$(psql -X -At -d recsys_dump_src -c "$query")
dst=$(psql -X -At -d recsys_dump_dst -c "$query")
for db in recsys_dump_src recsys_dump_dst; do dropdb "$db"; done
psql -X -q -d postgres -c "DROP ROLE IF EXISTS recsys_dump_trainer" >/dev/null
if [ -n "$src" ] && [ "$src" = "$dst" ]; then
    echo "dump/restore: model and recommendations identical"
else
    echo "dump/restore: FAILED (before: '$src', after: '$dst')" >&2
    exit 1
fi
