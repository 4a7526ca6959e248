-- Feature-aware ranker: train_ranker stores an ordinary model that recommend,
-- evaluate and describe_model serve unchanged; bad inputs fail before
-- anything is stored.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Each customer re-buys three staples weekly, each on its own weekday, and
-- one extra item now and then.
CREATE TABLE rk_purchases AS
SELECT u AS customer_id, 'S' || ((u + k) % 6) AS sku,
       timestamptz '2024-01-01 10:00:00+00' + (w * 7 + (u + 2 * k) % 7) * interval '1 day' AS bought_at,
       1 + k AS qty, 2.5 + k AS unit_price
  FROM generate_series(1, 12) u, generate_series(0, 2) k, generate_series(0, 9) w
UNION ALL
SELECT u, 'X' || ((u * w) % 5), timestamptz '2024-01-01 18:00:00+00' + (w * 7 + 3) * interval '1 day', 1, 9.0
  FROM generate_series(1, 12) u, generate_series(0, 9) w WHERE (u + w) % 3 = 0;
CREATE TABLE rk_items AS
SELECT DISTINCT sku, CASE WHEN sku LIKE 'S%' THEN 'staple' ELSE 'extra' END AS category FROM rk_purchases;

SELECT r ->> 'algorithm' AS algorithm, r -> 'users' AS users, r -> 'items' AS items,
       r -> 'ranker' ->> 'learner' AS learner, r -> 'ranker' -> 'label_pairs' AS label_pairs,
       (r -> 'ranker' ->> 'candidate_recall')::float8 >= 0.9 AS recall_high,
       r -> 'ranker' -> 'features' -> 0 AS first_feature
  FROM train_ranker('rk', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts, qty AS quantity,
                                  unit_price AS price FROM rk_purchases',
                    'SELECT sku AS item_id, category FROM rk_items',
                    '{"learner": "logistic", "label_window_days": 2}') AS r;
SELECT describe_model('rk') ->> 'algorithm' AS algorithm, describe_model('rk') -> 'params' ->> 'learner' AS learner;
-- re-buys are served with exclude_seen => false; every customer gets k items
SELECT count(*) AS served, count(DISTINCT user_id) AS users
  FROM recommend_all(3, model => 'rk', exclude_seen => false);
SELECT item_id FROM recommend(1, 3, model => 'rk', exclude_seen => false) ORDER BY item_id;
-- an unknown customer gets the most bought items
SELECT count(*) AS fallback FROM recommend(999, 3, model => 'rk');
-- evaluate works on a ranker unchanged (it excludes seen items, so it scores new items only)
SELECT metric, value >= 0 AS defined FROM evaluate('rk', 'SELECT customer_id AS user_id, sku AS item_id FROM rk_purchases
                                   WHERE bought_at >= timestamptz ''2024-03-06''', 5) WHERE metric IN ('ndcg@5', 'users');
-- evaluation on time: split_by_time, then all test pairs with re-buys served
-- (exclude_seen => false) and new items only
CREATE TABLE rk_split AS
SELECT * FROM split_by_time('SELECT customer_id AS user_id, sku AS item_id, bought_at AS time FROM rk_purchases',
                            '2024-03-06');
SELECT is_test, count(*) AS rows, count(DISTINCT user_id) AS users FROM rk_split GROUP BY is_test ORDER BY is_test;
SELECT (SELECT value FROM evaluate('rk', 'SELECT user_id, item_id FROM rk_split WHERE is_test', 5, exclude_seen => false)
         WHERE metric = 'ndcg@5')
     > (SELECT value FROM evaluate('rk', 'SELECT user_id, item_id FROM rk_split WHERE is_test', 5)
         WHERE metric = 'ndcg@5') AS rebuys_count;
SELECT count(*) FROM split_by_time('SELECT customer_id AS user_id, sku AS item_id FROM rk_purchases', '2024-03-06');
SELECT count(*) FROM split_by_time('SELECT customer_id AS user_id, sku AS item_id, bought_at AS time FROM rk_purchases', NULL);
SELECT * FROM evaluate('rk', 'SELECT user_id, item_id FROM rk_split WHERE is_test', 5, exclude_seen => NULL);
DROP TABLE rk_split;

-- bad input, each before anything is stored
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id FROM rk_purchases');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts,
                                      NULL::float8 AS price FROM rk_purchases');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts,
                                      unit_price - 3.5 AS price FROM rk_purchases');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"cutoff": "2000-01-01"}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"cutoff": "2030-01-01"}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "svm"}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"base_models": "ease,ranker"}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner.depth": 3}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    'SELECT sku AS id FROM rk_items');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '[]');
-- the items query: one row per item, a category that is a label
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    'SELECT sku AS item_id, category FROM rk_items UNION ALL SELECT ''S1'', ''staple''');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    'SELECT sku AS item_id, length(sku) * 1.5 AS category FROM rk_items');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    'SELECT sku AS item_id, jsonb_build_object(''c'', category) AS category FROM rk_items');
SELECT train_ranker('rk_bad', NULL);
SELECT count(*) AS stored FROM recsys_list_models() WHERE name = 'rk_bad';
-- items missing from the items query train with missing attributes, and say so
SELECT r -> 'ranker' ->> 'learner' AS learner
  FROM train_ranker('rk_partial', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    'SELECT sku AS item_id, category FROM rk_items WHERE category = ''staple''',
                    '{"learner": "logistic", "label_window_days": 2}') AS r;
SELECT drop_model('rk_partial');
-- learner "auto": each listed learner trained, the best on held-out customers kept, every score reported
CREATE TEMP TABLE rk_auto AS
SELECT r -> 'ranker' AS report
  FROM train_ranker('rk_auto', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases', NULL,
                    '{"learner": "auto", "auto_learners": "logistic,tree", "label_window_days": 2,
                      "validation_fraction": 0.6}') AS r;
SELECT report ->> 'learner' IN ('logistic', 'tree') AS chosen,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(report -> 'learner_validation_ndcg@10') k) AS tried,
       (report ->> 'validation_ndcg@10')::float8 BETWEEN 0 AND 1 AS scored,
       describe_model('rk_auto') -> 'params' ->> 'learner' = report ->> 'learner' AS stored_as_chosen
  FROM rk_auto;
SELECT drop_model('rk_auto');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "auto", "validation_fraction": 0, "label_window_days": 2}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "auto", "learner.max_depth": 3}');
-- per-feature explanation: the parts add up to the margin; importance per feature
SELECT count(*) > 30 AS features, abs(sum(contribution) - (SELECT ln(score / (1 - score)) FROM recommend(1, 1, model => 'rk', exclude_seen => false))) < 1e-2 AS adds_up
  FROM explain_ranker('1', (SELECT item_id FROM recommend(1, 1, model => 'rk', exclude_seen => false)), 'rk');
SELECT count(*) AS importances FROM feature_importance('rk') WHERE importance >= 0;
SELECT * FROM explain_ranker('1', 'S1', 'shop_missing');
SELECT * FROM feature_importance(NULL);

-- boosted_rank orders each customer's candidates by a ranking objective
-- (rank:map here, 4 sampled pairs per row); its parameters are checked
SELECT train_ranker('rk_rank', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "boosted_rank", "learner.objective": "map", "learner.pair_samples": 4,
                                "label_window_days": 2}') -> 'ranker' ->> 'learner' AS learner;
SELECT describe_model('rk_rank') -> 'params' ->> 'learner.objective' AS objective,
       describe_model('rk_rank') -> 'params' -> 'learner.pair_samples' AS pair_samples;
SELECT count(*) AS served FROM recommend(1, 3, model => 'rk_rank', exclude_seen => false);
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "boosted_rank", "learner.objective": "listwise"}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "boosted_rank", "learner.pair_samples": 0}');

-- more candidates: each customer's first unbought items of the recent best
-- sellers; training keeps a seeded sample of the unbought candidates per
-- customer (fewer rows, the same candidates served)
SELECT n, r -> 'ranker' -> 'rows' AS rows, round((r -> 'ranker' ->> 'candidate_recall')::numeric, 3) AS recall
  FROM (VALUES (1, '{}'::jsonb), (2, '{"best_seller_candidates": 3, "best_seller_days": 14}'),
               (3, '{"best_seller_candidates": 3, "best_seller_days": 14, "training_negatives": 1}')) v(n, p),
       LATERAL train_ranker('rk_cand' || n,
           'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
           params => '{"learner": "logistic", "label_window_days": 2, "candidates_per_model": 1}'::jsonb || p) r
 ORDER BY n;
SELECT describe_model('rk_cand3') -> 'params' -> 'best_seller_candidates' AS best_sellers,
       describe_model('rk_cand3') -> 'params' -> 'best_seller_days' AS days,
       describe_model('rk_cand3') -> 'params' -> 'training_negatives' AS negatives;
SELECT count(*) AS served FROM recommend(1, 5, model => 'rk_cand3', exclude_seen => false);
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"best_seller_candidates": -1}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"best_seller_days": 0}');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"training_negatives": "many"}');
-- ensemble: the mean margin of its members, each with its own parameters;
-- with an mlp member it cannot explain a score
SELECT train_ranker('rk_ens', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "ensemble", "learner.members": "boosted,mlp", "learner.mlp.hidden": 8,
                                "label_window_days": 2}') -> 'ranker' ->> 'learner' AS learner;
SELECT describe_model('rk_ens') -> 'params' ->> 'learner.members' AS members,
       describe_model('rk_ens') -> 'params' -> 'learner.boosted.max_depth' AS boosted_depth,
       describe_model('rk_ens') -> 'params' -> 'learner.mlp.hidden' AS mlp_hidden;
SELECT count(*) AS served FROM recommend(1, 3, model => 'rk_ens', exclude_seen => false);
SELECT * FROM explain_ranker('1', (SELECT item_id FROM recommend(1, 1, model => 'rk_ens', exclude_seen => false)), 'rk_ens');
SELECT train_ranker('rk_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "ensemble", "learner.members": "boosted"}');
SELECT drop_model('rk_ens');

-- a backend that served a tree ranker exits cleanly (freeing the cached
-- booster at exit once crashed the server)
SELECT train_ranker('rk_trees', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM rk_purchases',
                    params => '{"learner": "boosted", "label_window_days": 2}') -> 'ranker' ->> 'learner' AS learner;
SELECT count(*) AS served FROM recommend(1, 3, model => 'rk_trees', exclude_seen => false);
\c
SELECT pg_sleep(0.5);
SET search_path = public, recsys;
SELECT count(*) AS served_after_reconnect FROM recommend(1, 3, model => 'rk_trees', exclude_seen => false);
\c
SELECT pg_sleep(0.5);
SELECT 'still up' AS server;
SET search_path = public, recsys;

-- clean up
DROP TABLE rk_purchases, rk_items;
DROP EXTENSION recsys;
