-- update_model (issue 18, incremental updates): a new version from the
-- active one plus new rows. Exact algorithms give the very model a full
-- train on all the rows gives (compared byte for byte); ALS and BPR are
-- refined; what cannot be updated says why.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Five days of purchases; the last day brings new customers (61..70), a new
-- item and more purchases of known customers.
CREATE TABLE up_purchases AS
SELECT u AS customer_id, 'SKU' || (u * 7 + i * 3) % 25 AS stock_code, 1 + (u + i) % 3 AS quantity,
       1 + (u * 5 + i) % 4 AS day
  FROM generate_series(1, 60) u, generate_series(0, 5) i;
INSERT INTO up_purchases
SELECT u, 'SKU' || (u * 11 + i) % 26, 1 + i % 2, 5 FROM generate_series(41, 70) u, generate_series(0, 2) i;

------------------------------------------------------------------ exact updates
-- Each algorithm trained on days 1-4, updated with day 5, against a train on
-- days 1-5: the same model bytes.
CREATE FUNCTION up_same(alg text, params jsonb) RETURNS TABLE (algorithm text, exact text, same_bytes boolean)
LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM train('up_' || alg, alg,
                  'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM up_purchases WHERE day < 5',
                  params);
    result := update_model('up_' || alg,
                           'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM up_purchases WHERE day = 5');
    PERFORM train('up_full_' || alg, alg,
                  'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM up_purchases', params);
    RETURN QUERY SELECT alg, result ->> 'exact',
        (SELECT m.model FROM recsys_models m WHERE m.name = 'up_' || alg AND m.active)
        = (SELECT m.model FROM recsys_models m WHERE m.name = 'up_full_' || alg AND m.active);
END
$$;
SELECT s.* FROM (VALUES ('popularity', '{}'::jsonb), ('popularity', '{"by": "weight"}'), ('itemknn', '{}'),
                        ('itemknn', '{"similarity": "cooccurrence"}'), ('rp3beta', '{}'), ('ease', '{}')) AS v(a, p),
     LATERAL up_same(v.a, v.p) s;
-- the same recommendations, new customers included
SELECT count(*) AS differing FROM (
    (SELECT u, r.item_id, r.score, r.rank FROM generate_series(1, 70) u, recommend(u, 5, model => 'up_itemknn') r
     EXCEPT SELECT u, r.item_id, r.score, r.rank FROM generate_series(1, 70) u, recommend(u, 5, model => 'up_full_itemknn') r)
    UNION ALL
    (SELECT u, r.item_id, r.score, r.rank FROM generate_series(1, 70) u, recommend(u, 5, model => 'up_full_itemknn') r
     EXCEPT SELECT u, r.item_id, r.score, r.rank FROM generate_series(1, 70) u, recommend(u, 5, model => 'up_itemknn') r)) d;

-- A new version, active, with the update in its metrics and the recipe kept.
SELECT active, n_users, n_items, (metrics -> 'update') - 'updated_from' - 'seconds' AS update
  FROM model_versions('up_itemknn') ORDER BY version;
-- and where its time went
SELECT string_agg(k, ', ' ORDER BY k) AS timed,
       bool_and((metrics -> 'update' -> 'seconds' ->> k)::float8 >= 0) AS not_negative
  FROM model_versions('up_itemknn') v, jsonb_object_keys(v.metrics -> 'update' -> 'seconds') k WHERE v.active;
-- evaluate() adds its metrics to the version's and keeps the update report
SELECT value > 0 AS has_users FROM evaluate('up_itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id
                                                         FROM up_purchases WHERE day = 5') WHERE metric = 'users';
SELECT metrics ? 'update' AS kept_update, metrics -> 'all' ? 'ndcg' AS has_ndcg FROM model_versions('up_itemknn') WHERE active;
SELECT count(DISTINCT recipe - 'role') AS recipes FROM recsys_models WHERE name = 'up_itemknn';
-- retrain() still runs the recipe (days 1-4 again)
SELECT (r ->> 'activated')::boolean AS activated FROM retrain('up_itemknn') r;
SELECT n_users FROM model_versions('up_itemknn') WHERE active;

-- decay: the seen weights scaled, as a train with them scaled
SELECT train('up_decay', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight
                                         FROM up_purchases WHERE day < 5', '{"by": "weight"}') IS NOT NULL AS trained;
SELECT u ->> 'decay' AS decay, u ->> 'forgotten_pairs' AS forgotten
  FROM update_model('up_decay', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight
                                 FROM up_purchases WHERE day = 5', '{"decay": 0.5}') u;
SELECT train('up_decay_full', 'popularity',
             'SELECT customer_id AS user_id, stock_code AS item_id,
                     quantity * CASE WHEN day < 5 THEN 0.5 ELSE 1 END AS weight FROM up_purchases',
             '{"by": "weight"}') IS NOT NULL AS trained;
SELECT (SELECT model FROM recsys_models WHERE name = 'up_decay' AND active)
       = (SELECT model FROM recsys_models WHERE name = 'up_decay_full' AND active) AS same_bytes;
-- forget_below: decayed weights under it are dropped
SELECT (u ->> 'forgotten_pairs')::int > 0 AS forgot, u ->> 'interactions' AS interactions
  FROM update_model('up_decay', 'SELECT 70 AS user_id, ''SKU1'' AS item_id', '{"decay": 0.5, "forget_below": 1}') u;

------------------------------------------------------------------ approximate updates
SELECT train('up_als', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases WHERE day < 5',
             '{"factors": 8, "iterations": 5}') ->> 'users' AS users;
SELECT u ->> 'exact' AS exact, u ->> 'new_users' AS new_users, u ->> 'iterations' AS iterations, u ->> 'users' AS users
  FROM update_model('up_als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases WHERE day = 5') u;
SELECT count(*) AS served, count(*) FILTER (WHERE source = 'model') AS by_model FROM recommend(70, 5, model => 'up_als');
SELECT train('up_bpr', 'bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases WHERE day < 5',
             '{"factors": 8, "iterations": 20}') ->> 'users' AS users;
SELECT u ->> 'exact' AS exact, u ->> 'iterations' AS iterations, u ->> 'users' AS users
  FROM update_model('up_bpr', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases WHERE day = 5',
                    '{"iterations": 3}') u;

------------------------------------------------------------------ promotion and retention
SELECT version AS before FROM recsys_models WHERE name = 'up_popularity' AND active \gset
SELECT u ->> 'activated' AS activated, (u ->> 'active_version')::bigint = :before AS old_stays_active
  FROM update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', promote_if => 'ndcg@10 > active + 1',
                    holdout => 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases WHERE day = 5') u;
SELECT count(*) AS versions FROM model_versions('up_popularity');
SELECT update_model('up_popularity', 'SELECT 2 AS user_id, ''SKU2'' AS item_id', keep => 1) ->> 'activated' AS activated;
SELECT count(*) AS versions FROM model_versions('up_popularity');

------------------------------------------------------------------ what cannot be updated
SELECT update_model(NULL, 'SELECT 1 AS user_id, 2 AS item_id');
SELECT update_model('up_popularity', NULL);
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', NULL) ->> 'activated' AS null_params;
SELECT update_model('up_nothing', 'SELECT 1 AS user_id, 2 AS item_id');
SELECT update_model('up_popularity', 'SELECT 1 AS customer_id, 2 AS item_id');
SELECT update_model('up_popularity', 'SELECT ''ann'' AS user_id, ''SKU1'' AS item_id');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id WHERE false');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', '{"decai": 0.9}');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', '{"decay": 0}');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', '[1]');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', promote_if => 'ndcg@10 >= active');
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id', keep => 0);
SELECT train('up_private', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases',
             '{"store_history": false}') IS NOT NULL AS trained;
SELECT update_model('up_private', 'SELECT 1 AS user_id, ''SKU1'' AS item_id');
SELECT train('up_anon', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM up_purchases',
             '{"min_users_per_item": 2}') IS NOT NULL AS trained;
SELECT update_model('up_anon', 'SELECT 1 AS user_id, ''SKU1'' AS item_id');
SELECT recsys_update_rows('up_popularity', NULL, '{}', 'public', NULL);
-- a reader may not update (nor read the history through the update)
CREATE ROLE regress_up_reader;
GRANT recsys_reader TO regress_up_reader;
SET ROLE regress_up_reader;
SELECT update_model('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id');
SELECT count(*) FROM recsys_update_rows('up_popularity', 'SELECT 1 AS user_id, ''SKU1'' AS item_id, 1.0 AS weight',
                                        '{}', 'public', NULL);
RESET ROLE;
DROP ROLE regress_up_reader;
------------------------------------------------- the store, by reference
-- The new model goes from recsys_update_rows into the store in one
-- statement: no temporary file even for a model larger than work_mem (a
-- set-returning function's tuplestore spilled it to one).
CREATE TABLE up_many AS
SELECT u AS user_id, (u * 7 + i) % 500 AS item_id FROM generate_series(1, 5000) u, generate_series(0, 3) i;
SELECT train('up_many', 'popularity', 'SELECT user_id, item_id FROM up_many') IS NOT NULL AS trained;
SELECT model_bytes > 128 * 1024 AS larger_than_work_mem FROM recsys_models WHERE name = 'up_many' AND active;
SET work_mem = '64kB';
SET log_temp_files = 0;
SET client_min_messages = log;
SELECT update_model('up_many', 'SELECT 1 AS user_id, 1 AS item_id') ->> 'new_rows' AS new_rows;
RESET client_min_messages;
RESET log_temp_files;
RESET work_mem;
