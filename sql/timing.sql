-- Purchase timing: train_timing stores an ordinary model; next_purchase,
-- next_purchases, evaluate_timing and explain_timing serve it; bad inputs
-- fail with clear messages before anything is stored.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Customer u buys every 2 + u % 9 days (one or two lines a visit) from
-- 2024-01-01 to 2024-07-18; customer 99 bought once.
CREATE TABLE tm_purchases AS
SELECT u AS customer_id, 'S' || ((u + d) % 5) AS sku,
       timestamptz '2024-01-01 09:00:00+00' + d * interval '1 day' + (u % 8) * interval '1 hour' AS bought_at,
       1 + (u + d) % 3 AS qty, 1.5 + u % 4 AS unit_price
  FROM generate_series(1, 40) u, generate_series(0, 199) d
 WHERE d % (2 + u % 9) = 0 AND (u * 7 + d) % 11 <> 0
UNION ALL
SELECT u, 'T' || (u % 3), timestamptz '2024-01-01 15:00:00+00' + d * interval '1 day', 1, 4.0
  FROM generate_series(1, 40) u, generate_series(0, 199) d
 WHERE d % (2 + u % 9) = 0 AND u % 4 = 0
UNION ALL
SELECT 99, 'S1', timestamptz '2024-05-05 12:00:00+00', 1, 2.0;
CREATE TABLE tm_items AS
SELECT DISTINCT sku, CASE WHEN sku LIKE 'S%' THEN 'staple' ELSE 'treat' END AS category FROM tm_purchases;

SELECT r ->> 'algorithm' AS algorithm, r -> 'users' AS users,
       r -> 'timing' -> 'horizon_days' AS horizon_days, r -> 'timing' ->> 'time_learner' AS time_learner,
       r -> 'timing' ->> 'within_learner' AS within_learner, r -> 'timing' -> 'rows' AS rows,
       jsonb_array_length(r -> 'timing' -> 'cutoffs') AS cutoffs
  FROM train_timing('tm', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts, qty AS quantity,
                                  unit_price AS price FROM tm_purchases',
                    'SELECT sku AS item_id, category FROM tm_items',
                    '{"horizon_days": 7, "training_cutoffs": 3, "time_learner": "linear",
                      "within_learner": "logistic"}') AS r;
SELECT describe_model('tm') ->> 'algorithm' AS algorithm,
       describe_model('tm') -> 'params' ->> 'time_learner' AS time_learner;
-- a frequent buyer (every 3 days) comes back sooner and more surely than a rare one (every 10 days)
SELECT a.expected_days < b.expected_days AS sooner, a.p_within > b.p_within AS likelier,
       a.expected_at > timestamptz '2024-07-18' AS after_now, a.one_purchase
  FROM next_purchase(1, 'tm') a, next_purchase(8, 'tm') b;
SELECT p_within BETWEEN 0 AND 1 AS probability FROM next_purchase('10', 'tm');
-- a one-purchase customer gets the documented fallback, flagged
SELECT expected_days > 0 AS has_days, p_within BETWEEN 0 AND 1 AS probability, one_purchase
  FROM next_purchase(99, 'tm');
SELECT count(*) AS customers, count(*) FILTER (WHERE one_purchase) AS fallbacks,
       count(*) FILTER (WHERE expected_days >= 0 AND p_within BETWEEN 0 AND 1) AS valid
  FROM next_purchases('tm');
-- explanations add up to the margin: log(1 + expected days) for the days model
SELECT abs(sum(contribution) - ln(1 + (SELECT expected_days FROM next_purchase(5, 'tm')))) < 1e-3 AS adds_up,
       count(*) FILTER (WHERE feature = 'bias') AS bias_rows
  FROM explain_timing(5, 'tm');
SELECT count(*) > 30 AS features FROM explain_timing(5, 'tm', 'within');

-- evaluation on purchases strictly after the training data
SELECT (train_timing('tm_early', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases
                                  WHERE bought_at < timestamptz ''2024-06-01''',
                     params => '{"horizon_days": 7, "time_learner": "forest", "within_learner": "forest",
                                 "training_cutoffs": 6, "now": "2024-06-01"}')) ->> 'algorithm' AS algorithm;
SELECT customers, observed, mae < 5 AS mae_small, rmse >= mae AS rmse_ge_mae, concordance > 0.5 AS concordant,
       auc > 0.5 AS auc_above_chance, brier < 0.25 AS brier_small, one_purchase_skipped
  FROM evaluate_timing('tm_early', 'SELECT customer_id AS user_id, bought_at AS ts FROM tm_purchases
                                    WHERE bought_at >= timestamptz ''2024-06-01''');
-- boosted trees and the survival model train too; SHAP terms add up
SELECT (train_timing('tm_aft', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                     params => '{"horizon_days": 7, "time_learner": "aft", "time.rounds": 50,
                                 "within_learner": "boosted", "within.rounds": 50}')) -> 'timing' ->> 'time_learner' AS time_learner;
SELECT abs(sum(contribution) - ln(p / (1 - p))) < 1e-3 AS adds_up
  FROM explain_timing(5, 'tm_aft', 'within'), (SELECT p_within::float8 AS p FROM next_purchase(5, 'tm_aft')) x
 GROUP BY p;

-- bad input
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, NULL::timestamptz AS ts FROM tm_purchases');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases
                               UNION ALL SELECT 1, ''S1'', timestamptz ''2999-01-01''');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                    params => '{"cutoff": "2000-01-01"}');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                    params => '{"cutoff": "2024-07-15", "horizon_days": 30}');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                    params => '{"horizon_days": 0}');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                    params => '{"horizon_days": -5}');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts FROM tm_purchases',
                    params => '{"time_learner": "logistic"}');
SELECT train_timing('tm_bad', 'SELECT customer_id AS user_id, sku AS item_id FROM tm_purchases');
SELECT train_timing('tm_bad', NULL);
SELECT count(*) AS stored FROM recsys_list_models() WHERE name = 'tm_bad';
SELECT * FROM next_purchase(12345, 'tm');
SELECT * FROM next_purchase(NULL::bigint, 'tm');
SELECT * FROM explain_timing(99, 'tm');
SELECT * FROM explain_timing(5, 'tm', 'weeks');
SELECT * FROM next_purchase(1, 'rk_none');
SELECT * FROM evaluate_timing('tm', 'SELECT customer_id AS user_id FROM tm_purchases');
SELECT * FROM evaluate_timing('tm', 'SELECT customer_id AS user_id, bought_at AS ts FROM tm_purchases');
SELECT * FROM recommend(1, 3, model => 'tm');
SELECT count(*) FROM recommend_all(3, model => 'tm');
SELECT * FROM evaluate('tm', 'SELECT customer_id AS user_id, sku AS item_id FROM tm_purchases');

-- clean up
DROP TABLE tm_purchases, tm_items;
DROP EXTENSION recsys;
