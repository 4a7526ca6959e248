-- Self-tuning: tune() searches algorithms and parameters on a validation split.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never

-- Pseudo-random numbers from a hash: the same data on every machine.
CREATE FUNCTION tune_uniform(VARIADIC key int[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || substr(md5(array_to_string(key, ':')), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

-- No personal signal: 500 customers each buy 10 draws from one skewed
-- (Zipf-like) distribution over 100 items. The best anyone can do is the
-- popular items, so popularity must win.
CREATE TABLE tune_flat AS
SELECT u AS customer_id, 'p' || floor(100 * power(tune_uniform(u, j), 3))::int AS stock_code, 1 + j % 3 AS quantity
FROM generate_series(1, 500) u, generate_series(1, 10) j;

-- Planted structure: 20 groups of 15 customers, each group buying 7 of its
-- own 15-item catalogue (300 items in all) plus one item from anywhere. A
-- personalised model finds the groups; popularity cannot.
CREATE TABLE tune_groups AS
SELECT u AS customer_id,
       CASE WHEN j = 8 THEN 'g' || floor(20 * tune_uniform(u, j, 1))::int || '_' || floor(15 * tune_uniform(u, j, 2))::int
            ELSE 'g' || (u % 20) || '_' || floor(15 * tune_uniform(u, j))::int END AS stock_code,
       1 AS quantity
FROM generate_series(1, 300) u, generate_series(1, 8) j;

-- NOTICEs report seconds, which vary from machine to machine.
SET client_min_messages = warning;

-- planted structure: a personalised model wins, stored with its search log
CREATE TEMP TABLE groups_run AS
SELECT * FROM tune('groups', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM tune_groups',
                   max_candidates => 12);
SELECT count(*) AS candidates, count(*) FILTER (WHERE chosen) AS chosen,
       bool_or(chosen AND algorithm <> 'popularity') AS personalised_wins,
       bool_or(chosen AND score = (SELECT max(score) FROM groups_run)) AS best_score_chosen,
       min(candidate) FILTER (WHERE algorithm = 'popularity') AS popularity_first,
       array_agg(DISTINCT algorithm ORDER BY algorithm) AS algorithms_tried
FROM groups_run;
SELECT (SELECT score FROM groups_run WHERE chosen) > 2 * (SELECT score FROM groups_run WHERE algorithm = 'popularity')
       AS more_than_twice_popularity;
-- the winner is retrained on all rows (original id types) and stored; the
-- scratch models of the search are gone
SELECT m.algorithm = r.algorithm AS same_algorithm,
       CASE WHEN r.algorithm = 'blend' THEN m.params ->> 'algorithm_1' = r.params -> 'components' -> 0 ->> 'algorithm'
            ELSE m.params @> recsys_tune_retrain_params(r.algorithm, r.params, 0.2) END AS same_params,
       CASE WHEN r.algorithm = 'blend' THEN jsonb_array_length(m.metrics -> 'tune' -> 'retrained_params')
                                            = jsonb_array_length(r.params -> 'components')
            ELSE m.metrics -> 'tune' -> 'retrained_params' = recsys_tune_retrain_params(r.algorithm, r.params, 0.2)
       END AS retrained_params_logged,
       m.n_users, m.n_interactions = (SELECT count(DISTINCT (customer_id, stock_code)) FROM tune_groups) AS all_rows,
       jsonb_array_length(m.metrics -> 'tune' -> 'candidates') AS logged,
       m.metrics -> 'tune' ->> 'stopped_by' AS stopped_by, m.metrics -> 'tune' ->> 'metric' AS metric,
       (m.metrics -> 'all' ->> 'ndcg')::float8 = r.score AS validation_metrics_stored
FROM recsys_models m JOIN groups_run r ON r.chosen WHERE m.name = 'groups';
SELECT name FROM recsys_models ORDER BY name;
SELECT count(*) AS recommended FROM recommend(1, 5, model => 'groups');
-- retrained on all rows, EASE is regularised less: its lambda x (1 - validation_fraction)²;
-- other parameters (and a lambda left to EASE's default) are kept
SELECT recsys_tune_retrain_params('ease', '{"lambda": 100, "max_items": 50}', 0.2) AS ease,
       recsys_tune_retrain_params('ease', '{"lambda": 173}', 0.5) AS ease_half,
       recsys_tune_retrain_params('ease', '{"max_items": 50}', 0.2) AS ease_default_lambda,
       recsys_tune_retrain_params('als', '{"factors": 64, "regularization": 10}', 0.2) AS als,
       recsys_tune_retrain_params('ease', '{"lambda": 100}', NULL) IS NULL AS strict;
-- 12 candidates of the default grid: 9 from it, then the fine step around the winner
-- (whatever of the last 3 it leaves unused goes to the rest of the grid)
SELECT count(*) FILTER (WHERE x ->> 'phase' = 'coarse') AS coarse, count(*) FILTER (WHERE x ->> 'phase' = 'fine') > 0 AS refined,
       count(*) AS total
FROM recsys_models m, jsonb_array_elements(m.metrics -> 'tune' -> 'candidates') x WHERE m.name = 'groups';

-- reproducible: the same rows, seed and max_candidates try the same candidates
-- with the same scores and choose the same model
CREATE TEMP TABLE groups_again AS
SELECT * FROM tune('groups2', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM tune_groups',
                   max_candidates => 12);
SELECT (SELECT array_agg((algorithm, params, score, chosen) ORDER BY candidate) FROM groups_run)
     = (SELECT array_agg((algorithm, params, score, chosen) ORDER BY candidate) FROM groups_again) AS same_search;
-- another seed: another validation split and search order
SELECT (SELECT array_agg((algorithm, params) ORDER BY candidate) FROM groups_run)
     = (SELECT array_agg((algorithm, params) ORDER BY candidate)
        FROM tune('groups3', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                  max_candidates => 12, seed => 7)) AS same_with_other_seed;

-- no personal signal: popularity wins. Some candidates come close by luck
-- (within min_improvement, 2%); with min_improvement => 0 the top score wins.
CREATE TEMP TABLE flat_run AS
SELECT * FROM tune('flat', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM tune_flat',
                   max_candidates => 10);
SELECT count(*) AS candidates, (SELECT algorithm FROM flat_run WHERE chosen) AS chosen,
       max(score) FILTER (WHERE algorithm <> 'popularity')
           < 1.02 * max(score) FILTER (WHERE algorithm = 'popularity') AS none_better_by_2_percent
FROM flat_run;
SELECT algorithm FROM recsys_models WHERE name = 'flat';
SELECT bool_or(chosen AND score = (SELECT max(score) FROM flat_run)) AS top_score_chosen
FROM tune('flat0', 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM tune_flat',
          max_candidates => 10, min_improvement => 0);

-- a search space override, grid order: the listed values first, then the
-- fine step around the best (two points: halfway to each neighbour, or half
-- a step beyond the edge)
SELECT candidate, algorithm, params
FROM tune('grid', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
          algorithms => ARRAY['ease'], search_space => '{"ease": {"lambda": [50, 100, 200]}}', search => 'grid')
WHERE candidate <= 4 ORDER BY candidate;
SELECT x ->> 'phase' AS phase, count(*) FROM recsys_models m, jsonb_array_elements(m.metrics -> 'tune' -> 'candidates') x
WHERE m.name = 'grid' GROUP BY 1 ORDER BY 1;
-- overrides merge per parameter; null drops a parameter from the search
SELECT candidate, algorithm, params
FROM tune('knn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
          algorithms => ARRAY['itemknn'], search => 'grid',
          search_space => '{"itemknn": {"neighbours": [10, 20], "weighting": null, "similarity": "jaccard"}}')
WHERE candidate <= 3 ORDER BY candidate;

-- another metric
SELECT count(*) AS candidates FROM tune('recall', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                                        algorithms => ARRAY['itemknn'], metric => 'recall@5', max_candidates => 3);
SELECT metrics ->> 'k' AS k, metrics -> 'tune' ->> 'metric' AS metric,
       (metrics -> 'all' ->> 'recall')::float8 = (metrics -> 'tune' -> 'chosen' ->> 'score')::float8 AS scored_by_recall
FROM recsys_models WHERE name = 'recall';

-- budgets: a budget too small for any candidate (the split, popularity and
-- its retraining do not fit) is an error naming the smallest feasible budget
-- (seconds vary by machine: masked); a budget that fits estimates each
-- candidate's cost before it starts and skips those that cannot finish;
-- max_candidates counts trained candidates
DO $$
BEGIN
    PERFORM * FROM tune('budget', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                        budget => interval '1 microsecond');
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE WARNING '%', regexp_replace(SQLERRM, '[0-9]+(\.[0-9]+)? s$', 'N s');
END
$$;
SELECT count(*) AS stored FROM recsys_models WHERE name = 'budget';
SELECT count(*) AS candidates FROM tune('three', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                                        max_candidates => 3);
SELECT metrics -> 'tune' ->> 'stopped_by' AS stopped_by FROM recsys_models WHERE name = 'three';

-- candidates that cannot fit are skipped, never attempted: EASE on all 299
-- items (one of the 300 is never bought) needs 2 x 299^2 x 8 bytes, more than
-- 1MB; with a smaller max_items it fits, and with the default max_items it
-- models as many items as fit
SET recsys.memory_limit = '1MB';
SELECT count(*) FILTER (WHERE algorithm = 'ease') AS ease_tried, count(*) AS candidates
FROM tune('small', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
          algorithms => ARRAY['ease'], search_space => '{"ease": {"lambda": [100, 200], "max_items": 299}}');
SELECT x ->> 'algorithm' AS algorithm, x -> 'params' AS params, x ->> 'reason' AS reason
FROM recsys_models m, jsonb_array_elements(m.metrics -> 'tune' -> 'skipped') x WHERE m.name = 'small';
SELECT count(*) FILTER (WHERE algorithm = 'ease') AS ease_tried
FROM tune('capped', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
          algorithms => ARRAY['ease'], search_space => '{"ease": {"lambda": 100, "max_items": 100}}');
SELECT count(*) FILTER (WHERE algorithm = 'ease') AS ease_tried
FROM tune('fitted', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
          algorithms => ARRAY['ease'], search_space => '{"ease": {"lambda": 100}}');
SELECT (params ->> 'max_items')::int BETWEEN 100 AND 298 AS fewer_items_modeled FROM recsys_models WHERE name = 'fitted';
RESET recsys.memory_limit;
RESET client_min_messages;

-- bad input: each a clear error, and nothing left behind
CREATE TEMP TABLE models_before AS SELECT name FROM recsys_models;
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   algorithms => ARRAY['ease', 'svd']);
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   algorithms => ARRAY[]::text[]);
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups WHERE false');
SELECT * FROM tune('bad', 'SELECT 1 AS user_id, x AS item_id FROM unnest(ARRAY[''a'', ''b'']) x');
SELECT * FROM tune('bad', 'SELECT customer_id, stock_code FROM tune_groups');
SELECT * FROM tune('bad', 'SELECT customer_id::numeric AS user_id, stock_code AS item_id FROM tune_groups');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"ease": {"lambda": [50, 100]');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '[{"ease": {"lambda": [50, 100]}}]');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"ease": [50, 100]}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"svd": {"factors": [8]}}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   algorithms => ARRAY['itemknn'], search_space => '{"ease": {"lambda": [50]}}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"ease": {"lambda": []}}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"ease": {"lamda": [50, 100]}}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   search_space => '{"ease": {"lambda": [0, 100]}}');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   budget => interval '0');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   budget => interval '-5 minutes');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups', metric => 'auc@10');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups', metric => 'ndcg');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups', max_candidates => 0);
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups', search => 'bayes');
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   validation_fraction => 1);
SELECT * FROM tune('bad', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups',
                   min_improvement => -0.1);
SELECT * FROM tune('', 'SELECT customer_id AS user_id, stock_code AS item_id FROM tune_groups');
SELECT (SELECT array_agg(name ORDER BY name) FROM recsys_models)
     = (SELECT array_agg(name ORDER BY name) FROM models_before) AS nothing_left_behind;

-- clean up
DROP TABLE tune_flat, tune_groups;
DROP FUNCTION tune_uniform(int[]);
DROP EXTENSION recsys;
