-- Model lifecycle: recipes, retrain(), versions, activate() (rollback),
-- retention, and promotion on a holdout.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Four groups of customers; each buys 6 of its group's 10 items, and the
-- next 2 are held out (lc_holdout).
CREATE TABLE lc_purchases AS
SELECT u AS customer_id, 'G' || u % 4 || '_' || (u * 3 + i) % 10 AS stock_code
  FROM generate_series(1, 80) u, generate_series(0, 5) i;
CREATE TABLE lc_holdout AS
SELECT u AS customer_id, 'G' || u % 4 || '_' || (u * 3 + i) % 10 AS stock_code
  FROM generate_series(1, 80) u, generate_series(6, 7) i;
CREATE TABLE lc_structured AS SELECT * FROM lc_purchases;

------------------------------------------------------------------ recipes
SELECT t ->> 'algorithm' AS algorithm, t ->> 'version' IS NOT NULL AS has_version
  FROM train('lc', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM lc_purchases',
             '{"neighbours": 20}') AS t;
SELECT recipe - 'search_path' AS recipe FROM recsys_models WHERE name = 'lc';
SELECT version AS v1 FROM recsys_models WHERE name = 'lc' AND active \gset
CREATE TEMP TABLE lc_recs_v1 AS
SELECT u, r.item_id, r.score, r.rank FROM generate_series(1, 80) u, recommend(u, 5, model => 'lc') r;

-- retrain on unchanged data: a new version, the same recommendations
SELECT r ->> 'activated' AS activated, (r ->> 'version')::bigint > :v1 AS newer,
       (r ->> 'retrained_from')::bigint = :v1 AS from_v1
  FROM retrain('lc') AS r;
SELECT version AS v2 FROM recsys_models WHERE name = 'lc' AND active \gset
SELECT count(*) AS differing
  FROM lc_recs_v1 o FULL JOIN (SELECT u, r.* FROM generate_series(1, 80) u, recommend(u, 5, model => 'lc') r) n
       ON o.u = n.u AND o.rank = n.rank AND o.item_id = n.item_id AND o.score = n.score
 WHERE o.u IS NULL OR n.u IS NULL;
SELECT version = :v1 AS is_v1, active, algorithm, params ->> 'neighbours' AS neighbours, n_users,
       metrics -> 'retrain' ->> 'retrained_from' = :'v1' AS from_v1
  FROM model_versions('lc');

------------------------------------------------- versions and rollback
-- the data changes (noise); the retrain serves other recommendations ...
TRUNCATE lc_purchases;
INSERT INTO lc_purchases
SELECT u, 'G' || (u * 7 + i * 5) % 4 || '_' || (u * i + 3 * i) % 10 FROM generate_series(1, 80) u, generate_series(0, 5) i;
SELECT retrain('lc') ->> 'activated' AS activated;
SELECT version AS v3 FROM recsys_models WHERE name = 'lc' AND active \gset
SELECT (recsys_cache_stats() ->> 'decodes')::int AS decodes_before \gset
SELECT count(*) > 0 AS changed
  FROM lc_recs_v1 o FULL JOIN (SELECT u, r.* FROM generate_series(1, 80) u, recommend(u, 5, model => 'lc') r) n
       ON o.u = n.u AND o.rank = n.rank AND o.item_id = n.item_id AND o.score = n.score
 WHERE o.u IS NULL OR n.u IS NULL;
-- ... and activate(previous) restores them exactly, from this backend's
-- next call on (its cache is keyed on the active version)
SELECT a ->> 'version' = :'v2' AS activated_v2, a ->> 'previous_version' = :'v3' AS was_v3 FROM activate('lc', :v2) AS a;
SELECT count(*) AS differing
  FROM lc_recs_v1 o FULL JOIN (SELECT u, r.* FROM generate_series(1, 80) u, recommend(u, 5, model => 'lc') r) n
       ON o.u = n.u AND o.rank = n.rank AND o.item_id = n.item_id AND o.score = n.score
 WHERE o.u IS NULL OR n.u IS NULL;
SELECT (recsys_cache_stats() ->> 'decodes')::int - :decodes_before AS decodes;
SELECT version = :v2 AS is_v2, active FROM model_versions('lc') ORDER BY version;
SELECT describe_model('lc') ->> 'version' = :'v2' AS describes_active;
SELECT count(*) AS listed FROM recsys_list_models() WHERE name = 'lc';
-- a switch rolled back with its transaction leaves the active version
BEGIN;
SELECT activate('lc', :v3) ->> 'version' = :'v3' AS switched;
ROLLBACK;
SELECT version = :v2 AS still_v2 FROM recsys_models WHERE name = 'lc' AND active;
-- activating the active version changes nothing
SELECT a ->> 'previous_version' = :'v2' AS same FROM activate('lc', :v2) AS a;

------------------------------------------------------------- promotion
-- on the noise, a retrain scores worse on the holdout and is not activated
SELECT (r ->> 'activated')::boolean AS activated, (r ->> 'active_version')::bigint = :v2 AS v2_stays,
       (r ->> 'score')::float8 < (r ->> 'active_score')::float8 AS worse, r ->> 'rule' AS rule
  FROM retrain('lc', promote_if => 'ndcg@10 >= active - 0.005',
               holdout => 'SELECT customer_id AS user_id, stock_code AS item_id FROM lc_holdout') AS r;
SELECT version = :v2 AS still_v2 FROM recsys_models WHERE name = 'lc' AND active;
SELECT count(*) AS differing
  FROM lc_recs_v1 o FULL JOIN (SELECT u, r.* FROM generate_series(1, 80) u, recommend(u, 5, model => 'lc') r) n
       ON o.u = n.u AND o.rank = n.rank AND o.item_id = n.item_id AND o.score = n.score
 WHERE o.u IS NULL OR n.u IS NULL;
-- the rejected version stays in the history with its holdout metrics
SELECT active, metrics -> 'retrain' ->> 'activated' AS activated, metrics -> 'all' ? 'ndcg' AS has_ndcg
  FROM model_versions('lc') ORDER BY version DESC LIMIT 1;
-- the structured data back: not worse, so activated
TRUNCATE lc_purchases;
INSERT INTO lc_purchases SELECT * FROM lc_structured;
SELECT (r ->> 'activated')::boolean AS activated, (r ->> 'score')::float8 >= (r ->> 'bar')::float8 AS passes
  FROM retrain('lc', promote_if => 'NDCG@10 >= active', keep => 2,
               holdout => 'SELECT customer_id AS user_id, stock_code AS item_id FROM lc_holdout') AS r;
-- keep => 2: the two most recent versions are left
SELECT count(*) AS versions, count(*) FILTER (WHERE active) AS active FROM model_versions('lc');

-------------------------------------------------------------- retention
SELECT retrain('lc') ->> 'activated' AS activated;
SELECT retrain('lc') ->> 'activated' AS activated;
SELECT version AS newest FROM recsys_models WHERE name = 'lc' AND active \gset
SELECT min(version) AS oldest FROM recsys_models WHERE name = 'lc' \gset
SELECT activate('lc', :oldest) IS NOT NULL AS rolled_back;
-- keep => 1 keeps the newest and the active one (the oldest, here)
SELECT drop_model('lc', keep => 1);
SELECT version = :oldest AS is_oldest, version = :newest AS is_newest, active FROM model_versions('lc') ORDER BY version;
SELECT drop_model('lc', keep => 5);
SELECT drop_model('lc');
SELECT count(*) AS none_left FROM recsys_models WHERE name = 'lc';

------------------------------------------------ other recipes: ranker, tune
CREATE TABLE lc_timed AS
SELECT customer_id, stock_code, timestamptz '2024-01-01' + (customer_id % 7 + row_number() OVER ()) * interval '1 day' AS ts
  FROM lc_purchases;
SELECT train_ranker('lc_rk', 'SELECT customer_id AS user_id, stock_code AS item_id, ts FROM lc_timed', NULL,
                    '{"learner": "logistic", "label_window_days": 30}') ->> 'algorithm' AS algorithm;
SELECT recipe ->> 'kind' AS kind, recipe ->> 'items_query' IS NULL AS no_items FROM recsys_models WHERE name = 'lc_rk';
SELECT retrain('lc_rk') ->> 'activated' AS activated;
SELECT count(*) AS versions, min(algorithm) AS algorithm FROM model_versions('lc_rk');
SET client_min_messages = warning;  -- tune's progress notices print times
SELECT count(*) AS candidates FROM tune('lc_tuned', 'SELECT customer_id AS user_id, stock_code AS item_id FROM lc_purchases',
                                        algorithms => ARRAY['itemknn'], max_candidates => 2, budget => NULL);
SELECT recipe ->> 'kind' AS kind, recipe -> 'algorithms' AS algorithms, recipe ->> 'max_candidates' AS max_candidates
  FROM recsys_models WHERE name = 'lc_tuned' AND active;
SELECT retrain('lc_tuned') ->> 'activated' AS activated;
RESET client_min_messages;
SELECT count(*) AS versions, bool_and(metrics ? 'tune') AS tuned FROM model_versions('lc_tuned');
SELECT recipe ->> 'kind' AS kind FROM recsys_models WHERE name = 'lc_tuned' AND active;

------------------------------------------------------------ bad input
SELECT save_model('lc_raw', (SELECT recsys_train('popularity', customer_id, stock_code) FROM lc_purchases)) ->> 'algorithm';
SELECT retrain('lc_raw');
SELECT retrain('missing');
SELECT retrain(NULL);
SELECT retrain('lc_rk', promote_if => 'ndcg@10 >= active');
SELECT retrain('lc_rk', promote_if => 'ndcg >= best', holdout => 'SELECT 1 AS user_id, ''x'' AS item_id');
SELECT retrain('lc_rk', keep => 0);
SELECT activate('lc_rk', 0);
SELECT activate('missing', 1);
SELECT activate('lc_rk', NULL);
SELECT model_versions('missing');
SELECT model_versions(NULL);
SELECT drop_model('lc_rk', keep => 0);
SELECT recsys_parse_promote_if('ndcg@0 >= active');
SELECT r ->> 'margin' AS margin, r ->> 'strict' AS strict FROM recsys_parse_promote_if('recall@20 > active + 0.01') r;
UPDATE recsys_models SET recipe = '[1]' WHERE name = 'lc_raw';

--------------------------------------------------------------- security
-- retrain runs the recipe's query with its caller's rights: never the
-- owner's, never more than the recipe's writer has.
CREATE ROLE regress_lc_alice IN ROLE recsys_trainer;
CREATE ROLE regress_lc_bob IN ROLE recsys_trainer;
CREATE ROLE regress_lc_carol IN ROLE recsys_admin;
CREATE ROLE regress_lc_reader IN ROLE recsys_reader;
CREATE TABLE lc_alice_data AS SELECT * FROM lc_purchases;
GRANT SELECT ON lc_alice_data TO regress_lc_alice;
SET ROLE regress_lc_alice;
SELECT train('lc_alice', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM lc_alice_data')
       ->> 'algorithm' AS trained;
SELECT recipe ->> 'role' AS writer FROM recsys_models WHERE name = 'lc_alice';
-- a forged writer is overwritten by the real one
UPDATE recsys_models SET recipe = recipe || '{"role": "postgres"}' WHERE name = 'lc_alice';
SELECT recipe ->> 'role' AS writer FROM recsys_models WHERE name = 'lc_alice';
SELECT retrain('lc_alice') ->> 'activated' AS activated;
SET ROLE regress_lc_bob;
SELECT retrain('lc_alice');
SELECT activate('lc_alice', (SELECT min(version) FROM recsys_models WHERE name = 'lc_alice'));
SELECT drop_model('lc_alice', keep => 1);
SET ROLE regress_lc_reader;
SELECT retrain('lc_alice');
SELECT count(*) AS reader_lists FROM model_versions('lc_alice');
-- an admin may change alice's model, but not run alice's SQL with its own
-- rights; as alice, it may
SET ROLE regress_lc_carol;
SELECT retrain('lc_alice');
SELECT a ->> 'version' IS NOT NULL AS admin_rolls_back
  FROM activate('lc_alice', (SELECT min(version) FROM recsys_models WHERE name = 'lc_alice')) AS a;
RESET ROLE;
GRANT regress_lc_alice TO regress_lc_carol;
SET ROLE regress_lc_carol;
SET ROLE regress_lc_alice;
SELECT retrain('lc_alice') ->> 'activated' AS activated_as_alice;
-- alice's rights, not the owner's: without SELECT on the data it fails
RESET ROLE;
REVOKE SELECT ON lc_alice_data FROM regress_lc_alice;
SET ROLE regress_lc_alice;
SELECT retrain('lc_alice');
RESET ROLE;
SELECT count(*) AS versions, owner FROM recsys_models WHERE name = 'lc_alice' GROUP BY owner;
SELECT drop_model('lc_alice');
DROP TABLE lc_alice_data;
DROP ROLE regress_lc_alice, regress_lc_bob, regress_lc_carol, regress_lc_reader;
-- clean up
DROP TABLE lc_purchases, lc_holdout, lc_structured, lc_timed;
DROP EXTENSION recsys;
