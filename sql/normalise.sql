-- Normalisation: scalers fitted by an aggregate and reused; interaction weights.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never

CREATE TABLE normalise_prices (price float8);
INSERT INTO normalise_prices VALUES (2), (4), (4), (4), (5), (5), (7), (9), (NULL);

SELECT fit_scaler(price) AS zscore, fit_scaler(price, 'minmax') AS minmax, fit_scaler(price, 'robust') AS robust
FROM normalise_prices;
-- a scaler fitted on training rows is reused on new rows
SELECT p, scale(p, (SELECT fit_scaler(price) FROM normalise_prices)) AS z,
       scale(p, (SELECT fit_scaler(price, 'minmax') FROM normalise_prices)) AS unit
FROM (VALUES (2.0), (5.0), (11.0)) AS v(p);
-- a constant column scales to 0; no rows (or only NULLs) give NULL
SELECT scale(3, fit_scaler(x)) FROM (VALUES (3.0), (3.0)) AS v(x);
SELECT fit_scaler(price) IS NULL AS empty FROM normalise_prices WHERE price IS NULL;
-- in parallel, the same parameters
CREATE TABLE normalise_many AS SELECT (g % 1000)::float8 AS x FROM generate_series(1, 100000) g;
ANALYZE normalise_many;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT fit_scaler(x, 'robust') FROM normalise_many;
SELECT round((fit_scaler(x, 'zscore') ->> 'mean')::numeric, 6) AS mean,
       round((fit_scaler(x, 'zscore') ->> 'stddev')::numeric, 6) AS stddev,
       fit_scaler(x, 'robust') AS robust
FROM normalise_many;
RESET max_parallel_workers_per_gather;
-- bad input
SELECT fit_scaler(price, 'log') FROM normalise_prices;
SELECT fit_scaler(x) FROM (VALUES ('NaN'::float8)) AS v(x);
SELECT scale(1, '{"method": "zscore"}');
SELECT scale(1, '{"method": "zscore", "mean": 1, "stddev": 2, "extra": 3}');

-- interaction weights
SELECT log_weight(0), log_weight(10), log_weight(10000), log_weight(10, alpha => 2, eps => 0.5);
SELECT decay_weight(1, '2024-01-01', '2024-01-31', '30 days') AS one_half_life,
       decay_weight(8, '2024-01-01', '2024-03-01', '30 days') AS two_half_lives,
       decay_weight(1, '2024-02-01', '2024-01-01', '30 days') AS future_event;
SELECT clip_weight(5, 100), clip_weight(10000, 100);
SELECT log_weight(-1);
SELECT decay_weight(1, now(), now(), '0 days');
SELECT clip_weight(1, -5);

-- clean up
DROP TABLE normalise_prices, normalise_many;
DROP EXTENSION recsys;
