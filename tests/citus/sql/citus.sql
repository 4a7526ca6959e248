-- recsys on a Citus cluster (a coordinator and two workers, started by
-- scripts/citus_cluster.sh; run by tests/citus.sh): the model store as a
-- reference table, recommend() inside queries that Citus pushes down to the
-- workers, and training, evaluation and tuning over distributed tables
-- giving what they give over the same rows on one node.
SET client_min_messages = warning;
SELECT count(*) AS workers FROM citus_get_active_worker_nodes();
SELECT result AS recsys_on_workers FROM run_command_on_workers(
    $$SELECT extversion FROM pg_extension WHERE extname = 'recsys'$$) ORDER BY nodeport;

-- How Citus runs a query: its task count, and how an INSERT ... SELECT moves
-- the rows (no such line: the SELECT runs where the target's shards are).
CREATE FUNCTION citus_plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line ~ 'Task Count|INSERT/SELECT method' THEN
            RETURN NEXT trim(line);
        END IF;
    END LOOP;
END
$$;

-- The same purchases on the coordinator alone and distributed by customer.
CREATE TABLE purchases_local AS
SELECT c AS customer_id, 'SKU' || ((c * 7 + i * i * 3) % 40) AS stock_code, ((c + i) % 4 + 1)::float8 AS quantity,
       ((c * 31 + i * 17) % 10 = 0) AS held_out
  FROM generate_series(1, 300) c, generate_series(1, 8) i;
CREATE TABLE purchases AS SELECT * FROM purchases_local;
SELECT create_distributed_table('purchases', 'customer_id', shard_count => 4);
CREATE TABLE customers_local AS SELECT c AS id FROM generate_series(1, 320) c;  -- 301..320 are new
CREATE TABLE customers AS SELECT * FROM customers_local;
SELECT create_distributed_table('customers', 'id', colocate_with => 'purchases');

-- The store as a reference table: a copy on every node.
SELECT recsys.distribute_store();
SELECT recsys.distribute_store();
SELECT partmethod, repmodel FROM pg_dist_partition WHERE logicalrelid = 'recsys.recsys_models'::regclass;
SELECT count(*) AS copies FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
 WHERE s.logicalrelid = 'recsys.recsys_models'::regclass;

-- Training over the distributed table gives the same model, byte for byte,
-- for every algorithm (rows are merged in canonical order).
CREATE FUNCTION train_both(algo text, params jsonb DEFAULT '{}') RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    q constant text := 'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM %s WHERE NOT held_out';
BEGIN
    PERFORM recsys.train(algo || '_local', algo, format(q, 'purchases_local'), params);
    PERFORM recsys.train(algo, algo, format(q, 'purchases'), params);
    RETURN (SELECT l.model = d.model FROM recsys.recsys_models l, recsys.recsys_models d
             WHERE l.name = algo || '_local' AND l.active AND d.name = algo AND d.active);
END
$$;
SELECT a AS algorithm, train_both(a) AS same_model
  FROM unnest(ARRAY['popularity', 'itemknn', 'rp3beta', 'ease']) a ORDER BY a;
SELECT train_both('als', '{"factors": 8, "iterations": 5}') AS als_same_model;

-- Every node has every model, with the recipe's writer stamped on each copy.
SELECT result AS models_per_worker FROM run_command_on_workers(
    $$SELECT string_agg(name || ':' || (recipe ->> 'role'), ' ' ORDER BY name) FROM recsys.recsys_models$$)
 ORDER BY nodeport;

-- Serving inside a distributed query: a LATERAL recommend() over the
-- distributed customers runs on the workers, one task per shard ...
SELECT * FROM citus_plan($$SELECT c.id, r.item_id FROM customers c, LATERAL recsys.recommend(c.id, 5, 'itemknn') r$$);
-- ... and gives what the single-node model gives on the coordinator.
SELECT count(*) AS recommendations, count(DISTINCT c.id) AS customers, count(*) FILTER (WHERE r.source = 'popularity') AS cold
  FROM customers c, LATERAL recsys.recommend(c.id, 5, 'itemknn') r;
SELECT count(*) AS differences FROM (
    (SELECT c.id, r.item_id, r.rank, r.score FROM customers c, LATERAL recsys.recommend(c.id, 5, 'itemknn') r
     EXCEPT SELECT c.id, r.item_id, r.rank, r.score FROM customers_local c, LATERAL recsys.recommend(c.id, 5, 'itemknn_local') r)
    UNION ALL
    (SELECT c.id, r.item_id, r.rank, r.score FROM customers_local c, LATERAL recsys.recommend(c.id, 5, 'itemknn_local') r
     EXCEPT SELECT c.id, r.item_id, r.rank, r.score FROM customers c, LATERAL recsys.recommend(c.id, 5, 'itemknn') r)) d;
-- Directly on each worker, too.
SELECT result AS served_on_worker FROM run_command_on_workers(
    $$SELECT string_agg(item_id, ' ' ORDER BY rank) FROM recsys.recommend(7, 3, 'itemknn')$$) ORDER BY nodeport;
SELECT string_agg(item_id, ' ' ORDER BY rank) AS served_on_coordinator FROM recsys.recommend(7, 3, 'itemknn');

-- Batch output written next to the customers' shards: the INSERT ... SELECT
-- runs on the workers, each shard of customers into the shard of
-- recommendations beside it (one task per shard, no "INSERT/SELECT method"
-- line: nothing goes through the coordinator). The function is called in
-- the select list: Citus pushes a non-immutable function in FROM (LATERAL)
-- of a multi-shard INSERT ... SELECT through a repartition instead.
-- recommend_all() for each shard's customers ...
CREATE TABLE recommendations (customer_id integer, item_id text, score real, rank integer);
SELECT create_distributed_table('recommendations', 'customer_id', colocate_with => 'customers');
SELECT * FROM citus_plan($$
    INSERT INTO recommendations (customer_id, item_id, score, rank)
    SELECT c.id, (c.r).item_id, (c.r).score, (c.r).rank
      FROM (SELECT id, recsys.recommend_all(5, 'ease', ARRAY[id::text]) AS r FROM customers) c$$);
INSERT INTO recommendations (customer_id, item_id, score, rank)
SELECT c.id, (c.r).item_id, (c.r).score, (c.r).rank
  FROM (SELECT id, recsys.recommend_all(5, 'ease', ARRAY[id::text]) AS r FROM customers) c;
SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers FROM recommendations;
SELECT count(*) AS differences FROM (
    (SELECT customer_id::text, item_id, rank, score FROM recommendations
     EXCEPT ALL SELECT user_id, item_id, rank, score FROM recsys.recommend_all(5, 'ease_local'))
    UNION ALL
    (SELECT user_id, item_id, rank, score FROM recsys.recommend_all(5, 'ease_local')
     EXCEPT ALL SELECT customer_id::text, item_id, rank, score FROM recommendations)) d;
-- ... or recommend() for each customer, new ones included (popularity).
TRUNCATE recommendations;
SELECT * FROM citus_plan($$
    INSERT INTO recommendations (customer_id, item_id, score, rank)
    SELECT c.id, (c.r).item_id, (c.r).score, (c.r).rank
      FROM (SELECT id, recsys.recommend(id, 5, 'ease') AS r FROM customers) c$$);
INSERT INTO recommendations (customer_id, item_id, score, rank)
SELECT c.id, (c.r).item_id, (c.r).score, (c.r).rank
  FROM (SELECT id, recsys.recommend(id, 5, 'ease') AS r FROM customers) c;
SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers FROM recommendations;
-- A LATERAL recommend() in the INSERT works too, repartitioned between the
-- workers.
TRUNCATE recommendations;
SELECT * FROM citus_plan($$INSERT INTO recommendations SELECT c.id, r.item_id, r.score, r.rank
                             FROM customers c, LATERAL recsys.recommend(c.id, 5, 'ease') r$$);
INSERT INTO recommendations SELECT c.id, r.item_id, r.score, r.rank
  FROM customers c, LATERAL recsys.recommend(c.id, 5, 'ease') r;
SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers FROM recommendations;

-- Evaluation over the distributed held-out rows: the same numbers.
SELECT d.metric, d.value = l.value AS same_value, d.value > 0 AS positive
  FROM recsys.evaluate('itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases WHERE held_out', 5) d
  JOIN recsys.evaluate('itemknn_local', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases_local WHERE held_out', 5) l
 USING (metric) ORDER BY d.metric;

-- train_distributed(): each shard's rows built on its worker, only those
-- parts sent to the coordinator, which merges them and trains: the model is
-- the one train() makes of the same rows on one node, byte for byte, for
-- every algorithm, and every customer gets the same top 10.
CREATE FUNCTION train_distributed_both(algo text, params jsonb DEFAULT '{}') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    same_bytes boolean;
    differences bigint;
BEGIN
    PERFORM recsys.train(algo || '_whole', algo,
                         'SELECT customer_id AS user_id, stock_code AS item_id, quantity AS weight FROM purchases_local', params);
    PERFORM recsys.train_distributed(algo || '_dist', algo, 'purchases', 'customer_id', 'stock_code', 'quantity', params);
    SELECT l.model = d.model INTO same_bytes FROM recsys.recsys_models l, recsys.recsys_models d
     WHERE l.name = algo || '_whole' AND l.active AND d.name = algo || '_dist' AND d.active;
    SELECT count(*) INTO differences FROM (
        (SELECT c.id, r.item_id, r.rank FROM customers_local c, LATERAL recsys.recommend(c.id, 10, algo || '_dist') r
         EXCEPT SELECT c.id, r.item_id, r.rank FROM customers_local c, LATERAL recsys.recommend(c.id, 10, algo || '_whole') r)
        UNION ALL
        (SELECT c.id, r.item_id, r.rank FROM customers_local c, LATERAL recsys.recommend(c.id, 10, algo || '_whole') r
         EXCEPT SELECT c.id, r.item_id, r.rank FROM customers_local c, LATERAL recsys.recommend(c.id, 10, algo || '_dist') r)) d;
    RETURN format('same bytes: %s, top-10 differences: %s', same_bytes, differences);
END
$$;
SELECT a AS algorithm, train_distributed_both(a) AS result
  FROM unnest(ARRAY['popularity', 'itemknn', 'rp3beta', 'ease']) a ORDER BY a;
SELECT train_distributed_both('itemknn', '{"similarity": "cooccurrence", "min_users_per_item": 3}') AS itemknn_cooccurrence;
SELECT train_distributed_both('als', '{"factors": 8, "iterations": 5}') AS als;
-- Served on the workers like any model.
SELECT count(*) AS recommendations FROM customers c, LATERAL recsys.recommend(c.id, 5, 'itemknn_dist') r;
-- Without a weight column every row counts 1, as in train().
SELECT recsys.train_distributed('pop_dist', 'popularity', 'purchases', 'customer_id', 'stock_code',
                                params => '{"by": "weight"}') ->> 'rows' AS rows;
SELECT recsys.train('pop_whole', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases_local',
                    '{"by": "weight"}') ->> 'rows' AS rows;
SELECT l.model = d.model AS same_bytes FROM recsys.recsys_models l, recsys.recsys_models d
 WHERE l.name = 'pop_whole' AND l.active AND d.name = 'pop_dist' AND d.active;
-- retrain() repeats it.
INSERT INTO purchases VALUES (340, 'SKU1', 1, false);
SELECT recsys.retrain('itemknn_dist', keep => 1) ->> 'activated' AS activated;
SELECT (recsys.describe_model('itemknn_dist') ->> 'users')::int AS users_after_retrain;
DELETE FROM purchases WHERE customer_id = 340;
-- update_model() updates it from the recipe's parameters, as a train() model.
SELECT recsys.update_model('ease_dist', 'SELECT 341 AS user_id, ''SKU1'' AS item_id') ->> 'exact' AS exact;
SELECT (recsys.describe_model('ease_dist') ->> 'users')::int AS users_after_update;
-- What it refuses, before reading any row (a worker's error is raised
-- with the shard's number).
\set SHOW_CONTEXT never
SELECT recsys.train_distributed('x', 'itemknn', 'purchases_local', 'customer_id', 'stock_code');
CREATE TABLE purchases_by_item AS SELECT * FROM purchases_local;
SELECT create_distributed_table('purchases_by_item', 'stock_code', shard_count => 2);
SELECT recsys.train_distributed('x', 'itemknn', 'purchases_by_item', 'customer_id', 'stock_code');
SELECT recsys.train_distributed('x', 'itemknn', 'purchases', 'customer_id', 'no_such_column');
SELECT recsys.train_distributed('x', 'itemknn', 'purchases', 'customer_id', 'stock_code', 'held_out');
SELECT recsys.train_distributed('x', 'nope', 'purchases', 'customer_id', 'stock_code');
SELECT recsys.train_distributed('x', 'itemknn', 'purchases', 'customer_id', 'stock_code', NULL, '{"neighbors": 5}');
SELECT recsys.train_distributed('x', 'itemknn', 'purchases', 'customer_id', NULL);
SELECT recsys.train_distributed(NULL, 'itemknn', 'purchases', 'customer_id', 'stock_code');
SELECT recsys.train_distributed('x', 'itemknn', NULL, 'customer_id', 'stock_code');
SELECT count(*) AS not_stored FROM recsys.recsys_models WHERE name = 'x';
\set SHOW_CONTEXT errors

-- A trainer role: its model's copies carry its stamp, a forged stamp is
-- replaced on every copy, and retrain() stores a version every node serves.
CREATE ROLE citus_trainer LOGIN;  -- Citus reaches the workers as the role itself
GRANT recsys_trainer TO citus_trainer;
GRANT SELECT, INSERT ON purchases TO citus_trainer;
SET ROLE citus_trainer;
SELECT recsys.train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases') ->> 'users' AS users;
INSERT INTO recsys.recsys_models (name, algorithm, params, n_users, n_items, n_interactions, model_bytes, model, active, recipe)
VALUES ('forged', 'itemknn', '{}', 1, 1, 1, 1, '\x00', false, '{"kind": "train", "role": "postgres"}');
INSERT INTO purchases SELECT 330, 'SKU' || i FROM generate_series(1, 5) i;
SELECT recsys.retrain('shop', keep => 1) ->> 'activated' AS activated;
SELECT recsys.train_distributed('shop_dist', 'itemknn', 'purchases', 'customer_id', 'stock_code') ->> 'users' AS users;
\set SHOW_CONTEXT never
SELECT recsys.train_distributed('shop_dist', 'itemknn', 'purchases', 'customer_id', 'held_out');
\set SHOW_CONTEXT errors
RESET ROLE;
SELECT result AS stamps_per_worker FROM run_command_on_workers(
    $$SELECT string_agg(name || ':' || n_users || ':' || (recipe ->> 'role'), ' ' ORDER BY name, version)
        FROM recsys.recsys_models WHERE name IN ('shop', 'forged')$$) ORDER BY nodeport;
SELECT string_agg(name || ':' || n_users || ':' || (recipe ->> 'role'), ' ' ORDER BY name, version) AS stamps_here
  FROM recsys.recsys_models WHERE name IN ('shop', 'forged');
-- The retrained model knows customer 330 on every node (the cache follows the version).
SELECT DISTINCT r.source FROM customers c, LATERAL recsys.recommend(330, 3, 'shop') r WHERE c.id = 7;
SELECT result AS source_on_worker FROM run_command_on_workers(
    $$SELECT string_agg(DISTINCT source, ',') FROM recsys.recommend(330, 3, 'shop')$$) ORDER BY nodeport;

-- Rolling back and dropping change every copy.
SELECT recsys.train('shop', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases') ->> 'algorithm' AS algorithm;
SELECT recsys.activate('shop', (SELECT min(version) FROM recsys.recsys_models WHERE name = 'shop')) IS NOT NULL AS rolled_back;
SELECT result AS versions_per_worker FROM run_command_on_workers(
    $$SELECT string_agg(algorithm || ':' || active, ' ' ORDER BY version) FROM recsys.recsys_models WHERE name = 'shop'$$)
 ORDER BY nodeport;
SELECT recsys.drop_model('shop');
SELECT result AS left_per_worker FROM run_command_on_workers(
    $$SELECT count(*) FROM recsys.recsys_models WHERE name = 'shop'$$) ORDER BY nodeport;

-- Tuning over the distributed table chooses what it chooses on one node.
SELECT count(*) AS candidates FROM recsys.tune('tuned', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases WHERE customer_id <= 300',
                                               algorithms => ARRAY['itemknn', 'ease'], max_candidates => 4, budget => '1 hour');
SELECT count(*) AS candidates FROM recsys.tune('tuned_local', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases_local',
                                               algorithms => ARRAY['itemknn', 'ease'], max_candidates => 4, budget => '1 hour');
SELECT d.algorithm = l.algorithm AND d.params = l.params AND d.model = l.model
       AND d.metrics -> 'all' = l.metrics -> 'all' AS same_choice
  FROM recsys.recsys_models d, recsys.recsys_models l
 WHERE d.name = 'tuned' AND d.active AND l.name = 'tuned_local' AND l.active;
