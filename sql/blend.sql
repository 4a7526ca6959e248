-- Blends: stored models trained on the same rows, their per-user min-max
-- normalised scores summed with weights; serving, explaining, tune(), bad input.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never

-- 20 groups of 15 customers, each buying 6 of its group's 12 items; a
-- fifth of the pairs held out for evaluate.
CREATE TABLE blend_rows AS
SELECT u AS user_id, 'g' || (u % 20) || '_' || ((u * 7 + j * 5) % 12) AS item_id
FROM generate_series(1, 300) u, generate_series(1, 6) j;
ALTER TABLE blend_rows ADD COLUMN is_test boolean;
UPDATE blend_rows SET is_test = in_test_split(user_id, item_id, 0.2);
SELECT train('b_knn', 'itemknn', 'SELECT user_id, item_id FROM blend_rows WHERE NOT is_test') ->> 'algorithm' AS knn;
SELECT train('b_ease', 'ease', 'SELECT user_id, item_id FROM blend_rows WHERE NOT is_test', '{"lambda": 10}')
       ->> 'algorithm' AS ease;

-- a blend is stored like any model; weights are scaled to sum to 1
SELECT b ->> 'algorithm' AS algorithm, b -> 'params' AS params, (b ->> 'users')::int AS users
FROM blend('b_mix', ARRAY['b_knn', 'b_ease'], ARRAY[3, 1]) b;
SELECT describe_model('b_mix') -> 'params' ->> 'normalisation' AS normalisation;

-- serving: recommend, recommend_all and evaluate take it like any model
SELECT count(*) AS recommended, count(*) FILTER (WHERE source = 'model') AS from_model
FROM recommend(1, 5, model => 'b_mix');
SELECT count(*) AS batch_rows FROM recommend_all(5, model => 'b_mix');
-- recommend_all and recommend agree item for item
SELECT bool_and(a.item_id = r.item_id) AS batch_equals_single
FROM recommend_all(5, model => 'b_mix', users => ARRAY['1', '2', '3']) a
JOIN LATERAL recommend(a.user_id, 5, model => 'b_mix') r ON r.rank = a.rank;
SELECT m.metric, m.value > 0.5 AS above_half, m.value <= 1 AS at_most_1
FROM evaluate('b_mix', 'SELECT user_id, item_id FROM blend_rows WHERE is_test', 5) m
WHERE m.metric IN ('recall@5', 'hit_rate@5');

-- weights (1, 0): the first model's ranking
SELECT blend('b_first', ARRAY['b_ease', 'b_knn'], ARRAY[1, 0]) ->> 'algorithm' AS algorithm;
SELECT bool_and(a.item_id = b.item_id) AS same_as_ease
FROM recommend(7, 5, model => 'b_first') a JOIN recommend(7, 5, model => 'b_ease') b USING (rank);

-- explain_blend: each component's share; the shares sum to the score
SELECT component, algorithm, weight, normalised_score BETWEEN 0 AND 1 AS in_unit_range
FROM explain_blend(1, (SELECT item_id FROM recommend(1, 1, model => 'b_mix')), 'b_mix') ORDER BY component;
SELECT abs(sum(e.share) - (SELECT score FROM recommend(1, 1, model => 'b_mix'))) < 1e-5 AS shares_sum_to_score
FROM explain_blend('1', (SELECT item_id FROM recommend(1, 1, model => 'b_mix')), 'b_mix') e;
SELECT count(*) AS unknown_user FROM explain_blend('nobody', 'g1_1', 'b_mix');

-- a blend through tune(): blend => false keeps single models only (NOTICEs
-- report seconds)
SET client_min_messages = warning;
CREATE TEMP TABLE run AS
SELECT * FROM tune('b_tuned', 'SELECT user_id, item_id FROM blend_rows', algorithms => ARRAY['itemknn', 'ease'],
                   max_candidates => 4, min_improvement => 0);
SELECT count(*) FILTER (WHERE algorithm = 'blend') AS blends_tried,
       ((SELECT max(score) FROM run WHERE algorithm = 'blend') > (SELECT max(score) FROM run WHERE algorithm <> 'blend'))
           = bool_or(chosen AND algorithm = 'blend') AS blend_kept_iff_better
FROM run;
SELECT m.metrics -> 'tune' -> 'best_single' ->> 'algorithm' IN ('itemknn', 'ease', 'popularity') AS single_reported,
       m.metrics -> 'tune' -> 'best_blend' ->> 'algorithm' AS blend_reported,
       (SELECT count(*) FROM recsys_models x WHERE x.name LIKE 'b_tuned (%') AS parts_left
FROM recsys_models m WHERE m.name = 'b_tuned' AND m.active;
SELECT count(*) AS served FROM recommend(1, 5, model => 'b_tuned');
SELECT count(*) FILTER (WHERE algorithm = 'blend') AS blends_when_off
FROM tune('b_single', 'SELECT user_id, item_id FROM blend_rows', algorithms => ARRAY['itemknn', 'ease'],
          max_candidates => 4, blend => false);
-- Group structure under popular noise: each customer buys 4 items of their
-- group's 12 and 4 drawn from 60 skewed ones. Here a blend of item-kNN and
-- RP3beta beats every single model on validation, so tune() keeps it: its
-- components retrained on all rows, blended under the name, and dropped.
CREATE FUNCTION blend_uniform(VARIADIC key int[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || substr(md5(array_to_string(key, ':')), 1, 8))::bit(32)::bigint / 4294967296.0 $$;
CREATE TABLE blend_noisy AS
SELECT DISTINCT u AS user_id,
       CASE WHEN j <= 4 THEN 'g' || (u % 15) || '_' || floor(12 * blend_uniform(u, j))::int
            ELSE 'p' || floor(60 * power(blend_uniform(u, j, 7), 2))::int END AS item_id
FROM generate_series(1, 400) u, generate_series(1, 8) j;
CREATE TEMP TABLE noisy_run AS
SELECT * FROM tune('b_won', 'SELECT user_id, item_id FROM blend_noisy', algorithms => ARRAY['itemknn', 'ease', 'rp3beta'],
                   max_candidates => 6, min_improvement => 0);
SELECT r.algorithm AS chosen, r.params -> 'components' -> 0 ->> 'algorithm' AS first_component,
       r.score > (SELECT max(score) FROM noisy_run WHERE algorithm <> 'blend') AS beats_every_single,
       m.algorithm AS stored, m.n_interactions = (SELECT count(*) FROM blend_noisy) AS all_rows,
       (m.metrics -> 'tune' -> 'best_blend' ->> 'score')::float8 > (m.metrics -> 'tune' -> 'best_single' ->> 'score')::float8
           AS both_reported,
       (SELECT count(*) FROM recsys_models x WHERE x.name LIKE 'b_won (%') AS parts_left
FROM noisy_run r JOIN recsys_models m ON m.name = 'b_won' AND m.active WHERE r.chosen;
SELECT count(*) AS served FROM recommend(1, 5, model => 'b_won');
SELECT count(*) AS components FROM explain_blend(1, (SELECT item_id FROM recommend(1, 1, model => 'b_won')), 'b_won');
SELECT m.recipe ->> 'blend' AS recipe_blend FROM recsys_models m WHERE m.name = 'b_won' AND m.active;
RESET client_min_messages;

-- tune()'s blend search on its own: greedy forward selection from b_knn
-- (the start, with its own evaluate() score); the blend it reports scores
-- above the start, and evaluate() of that blend gives the same figure
SELECT (SELECT value FROM evaluate('b_knn', 'SELECT user_id, item_id FROM blend_rows WHERE is_test', 5)
         WHERE metric = 'ndcg@5') AS knn_ndcg \gset
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], :knn_ndcg, ARRAY[1, 1], 'Infinity', 'Infinity',
                           'SELECT user_id, item_id FROM blend_rows WHERE is_test', 'ndcg', 5, 'public') AS sel \gset
SELECT jsonb_array_length(:'sel'::jsonb -> 'weights') AS weights,
       (:'sel'::jsonb -> 'metrics' -> 'all' ->> 'ndcg')::float8 > :knn_ndcg AS beats_start;
SELECT blend('b_selected', ARRAY['b_knn', 'b_ease'],
             ARRAY(SELECT w::float8 FROM jsonb_array_elements_text(:'sel'::jsonb -> 'weights') w)) ->> 'algorithm' AS algorithm;
SELECT abs(value - (:'sel'::jsonb -> 'metrics' -> 'all' ->> 'ndcg')::float8) < 1e-12 AS same_as_evaluate
FROM evaluate('b_selected', 'SELECT user_id, item_id FROM blend_rows WHERE is_test', 5) WHERE metric = 'ndcg@5';
-- a start nothing beats: no metrics, all weight on the start
SELECT s -> 'metrics' AS metrics, s -> 'weights' AS weights
FROM recsys_blend_select(ARRAY['b_knn', 'b_ease'], 1, ARRAY[1, 1], 'Infinity', 'Infinity',
                         'SELECT user_id, item_id FROM blend_rows WHERE is_test', 'ndcg', 5, 'public') s;

-- bad input, each with its message
SELECT blend('b_bad', ARRAY['b_knn'], ARRAY[1]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], ARRAY[1]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], ARRAY[1, -1]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], ARRAY[0, 0]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], ARRAY[1, NULL]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], ARRAY['NaN'::float8, 1]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_mix'], ARRAY[1, 1]);
SELECT blend('b_bad', ARRAY['b_knn', 'no_such_model'], ARRAY[1, 1]);
SELECT blend('b_bad', NULL, ARRAY[1, 1]);
SELECT blend('b_bad', ARRAY['b_knn', 'b_ease'], NULL);
SELECT blend(NULL, ARRAY['b_knn', 'b_ease'], ARRAY[1, 1]);
SELECT train('b_other', 'itemknn', 'SELECT user_id, item_id FROM blend_rows') ->> 'algorithm';
SELECT blend('b_bad', ARRAY['b_knn', 'b_other'], ARRAY[1, 1]);
SELECT * FROM explain_recommendation(1, 'g1_1', 'b_mix');
SELECT * FROM explain_blend(1, 'g1_1', 'b_knn');
SELECT * FROM explain_blend(NULL::text, 'g1_1', 'b_mix');
SELECT * FROM tune('b_bad', 'SELECT user_id, item_id FROM blend_rows', blend => NULL);
SELECT recsys_blend_select(ARRAY['b_knn'], 0, ARRAY[1], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1, -1], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1, NULL], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1, 1], -1, 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1, 1], 'Infinity', 'NaN', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_mix'], 0, ARRAY[1, 1], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, ARRAY[1, 1], 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'auc', 5, 'public');
SELECT recsys_blend_select(ARRAY['b_knn', 'b_ease'], 0, NULL, 'Infinity', 'Infinity', 'SELECT user_id, item_id FROM blend_rows', 'ndcg', 5, 'public');
SELECT count(*) AS bad_stored FROM recsys_models WHERE name = 'b_bad';

-- the blend's bytes embed its components' histories: a reader may serve a
-- model but not blend it
CREATE ROLE regress_blend_reader IN ROLE recsys_reader;
SET ROLE regress_blend_reader;
SELECT count(*) AS reader_served FROM recommend(1, 3, model => 'b_mix');
SELECT length(recsys_blend(ARRAY['b_knn', 'b_ease'], ARRAY[1, 1])) > 0;
RESET ROLE;
DROP ROLE regress_blend_reader;

-- clean up
DROP TABLE blend_rows, blend_noisy;
DROP FUNCTION blend_uniform(int[]);
DROP EXTENSION recsys;
