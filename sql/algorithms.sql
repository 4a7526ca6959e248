-- The algorithm registry in SQL: read from the core's declarations.
CREATE EXTENSION recsys;
SET search_path = public, recsys;

SELECT name, learns_users, fold_in, similar_items, explain, incremental, tuned_by_default FROM algorithms();
SELECT algorithm, count(*) AS parameters, count(*) FILTER (WHERE common) AS common,
       count(*) FILTER (WHERE tune_values IS NOT NULL) AS tuned
  FROM algorithm_parameters() GROUP BY algorithm ORDER BY algorithm;
SELECT parameter, type, default_value, min, max, choices, tune_values FROM algorithm_parameters('itemknn') WHERE NOT common;
SELECT count(*) AS none FROM algorithm_parameters('no such algorithm');

-- tune()'s default search space is the declared tuning values.
SELECT recsys_tune_default_space() -> 'als' AS als_space, recsys_tune_default_space() -> 'popularity' AS popularity_space;

SELECT recsys_memory_estimate('ease', '{}', 100, 300);
SELECT recsys_memory_estimate('ease', '{"max_items": 10}', 100, 300);
SELECT recsys_memory_estimate('als', '{"factors": 10}', 100, 300);
SELECT recsys_memory_estimate('popularity', '{}', 100, 300) IS NULL AS small;
SELECT recsys_memory_estimate(NULL, '{}', 1, 1) IS NULL AS strict;
-- bad input
SELECT recsys_memory_estimate('knn', '{}', 1, 1);
SELECT recsys_memory_estimate('als', '{"factors": 0}', 1, 1);
SELECT recsys_memory_estimate('als', '{}', -1, 1);

-- clean up
DROP EXTENSION recsys;
