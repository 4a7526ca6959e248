-- Bad input, function by function (issue #16): every error says what was
-- wrong and, in its HINT, what to do instead. Nothing here may crash the
-- backend or surface a raw internal error.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE bad_rows AS
  SELECT (g % 12)::bigint AS user_id, 'i' || (g * 7 % 15) AS item_id, (g % 4 + 1)::float8 AS weight,
         timestamptz '2024-01-01' + g * interval '1 hour' AS time
    FROM generate_series(1, 120) AS g;
SELECT train('bad_knn', 'itemknn', 'SELECT user_id, item_id, weight FROM bad_rows') ->> 'users' AS users;
SELECT train('bad_pop', 'popularity', 'SELECT user_id, item_id FROM bad_rows') ->> 'items' AS items;
CREATE TABLE bad_model AS SELECT recsys_train('popularity', user_id, item_id) AS m FROM bad_rows;

-- recsys_train (aggregate)
SELECT recsys_train(NULL, user_id, item_id) FROM bad_rows;
SELECT recsys_train('itemnn', user_id, item_id) FROM bad_rows;
SELECT recsys_train('popularity', user_id, time) FROM bad_rows;
SELECT recsys_train('popularity', user_id, item_id, weight - 3) FROM bad_rows;
SELECT recsys_train('popularity', user_id, item_id, 'NaN'::float8) FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '[1, 2]') FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '{"neighbours": -5}') FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '{"neighbours": "ten"}') FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '{"neighbours": 1e400}') FROM bad_rows;
SELECT recsys_train('ease', user_id, item_id, weight, '{"lambda": 0}') FROM bad_rows;
SELECT recsys_train('ease', user_id, item_id, weight, '{"lamda": 10}') FROM bad_rows;
SELECT recsys_train('als', user_id, item_id, weight, '{"factors": 0}') FROM bad_rows;
SELECT recsys_train('als', user_id, item_id, weight, '{"regularization": "NaN"}') FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '{"binary": "yes"}') FROM bad_rows;
SELECT recsys_train('itemknn', user_id, item_id, weight, '{"similarity": "cosinus"}') FROM bad_rows;

-- train
SELECT train('bad', NULL, 'SELECT user_id, item_id FROM bad_rows');
SELECT train('bad', 'itemknn', NULL);
SELECT train('', 'itemknn', 'SELECT user_id, item_id FROM bad_rows');
SELECT train('bad', 'Itemknn', 'SELECT user_id, item_id FROM bad_rows');
SELECT train('bad', 'itemknn', 'DELETE FROM bad_rows');
SELECT train('bad', 'itemknn', 'SELECT user_id, item_id FROM bad_rows; DROP TABLE bad_rows');
SELECT train('bad', 'itemknn', 'SELEC user_id, item_id FROM bad_rows');
SELECT train('bad', 'itemknn', '');
SELECT train('bad', 'itemknn', 'SELECT user_id AS customer, item_id FROM bad_rows');
SELECT train('bad', 'itemknn', 'SELECT user_id, item_id FROM bad_rows WHERE false');
SELECT train('bad', 'itemknn', 'SELECT user_id, item_id FROM bad_rows', '{"neighbors": 5}');
SELECT train('bad', 'itemknn', 'SELECT user_id, item_id FROM bad_rows', '"neighbours"');

-- save_model
SELECT save_model('bad', NULL);
SELECT save_model(NULL, (SELECT m FROM bad_model));
SELECT save_model('bad', '\x0102'::bytea);

-- describe_model (bytea): a corrupted model
SELECT describe_model(''::bytea);
SELECT describe_model(substring(m FROM 1 FOR octet_length(m) - 5)) FROM bad_model;
SELECT describe_model(overlay(m PLACING '\xff'::bytea FROM 40 FOR 1)) FROM bad_model;

-- describe_model (name)
SELECT describe_model('bad_knnn');
SELECT describe_model(NULL::text);

-- drop_model
SELECT drop_model('bad_knnn');
SELECT drop_model(NULL);

-- recsys_list_models: takes no arguments
SELECT * FROM recsys_list_models('bad_knn');

-- recommend (bigint)
SELECT * FROM recommend(1, 0, 'bad_knn');
SELECT * FROM recommend(1, -3, 'bad_knn');
SELECT * FROM recommend(1, NULL, 'bad_knn');
SELECT * FROM recommend(1, 5, 'bad_knnn');
SELECT * FROM recommend(1, 5);
SELECT * FROM recommend(1.5, 5, 'bad_knn');
SELECT * FROM recommend(1, 5, 'bad_knn', candidates => ARRAY[['i1', 'i2'], ['i3', 'i4']]);

-- recommend (text)
SELECT * FROM recommend('1'::text, 0, 'bad_knn');
SELECT * FROM recommend('1'::text, 5, '');
SELECT * FROM recommend('1'::text, 5, 'bad_knn', exclude => ARRAY[['i1'], ['i2']]);

-- recommend_for_items
SELECT * FROM recommend_for_items(NULL, 5, 'bad_knn');
SELECT * FROM recommend_for_items(ARRAY['i1'], 0, 'bad_knn');
SELECT * FROM recommend_for_items(ARRAY[['i1', 'i2'], ['i3', 'i4']], 5, 'bad_knn');
SELECT * FROM recommend_for_items(ARRAY['i1', 'i2'], 5, 'bad_knn', weights => ARRAY[1.0]);
SELECT * FROM recommend_for_items(ARRAY['i1', 'i2'], 5, 'bad_knn', weights => ARRAY[1.0, -2.0]);
SELECT * FROM recommend_for_items(ARRAY['i1', 'i2'], 5, 'bad_knn', weights => ARRAY[1.0, 'NaN']);
SELECT * FROM recommend_for_items(ARRAY['i1', 'i2', 'i3', 'i4'], 5, 'bad_knn', weights => ARRAY[[1.0, 2.0], [3.0, 4.0]]);
SELECT * FROM recommend_for_items(ARRAY[]::text[], 5, 'bad_knnn');

-- similar_items
SELECT * FROM similar_items(NULL::text, 5, 'bad_knn');
SELECT * FROM similar_items('i1', 0, 'bad_knn');
SELECT * FROM similar_items('i1', 5, 'bad_pop');
SELECT * FROM similar_items(1::bigint, 5, 'bad_knnn');

-- explain_recommendation
SELECT * FROM explain_recommendation(NULL::bigint, 'i1', 'bad_knn');
SELECT * FROM explain_recommendation('1'::text, NULL, 'bad_knn');
SELECT * FROM explain_recommendation(1, 'i1', 'bad_pop');
SELECT * FROM explain_recommendation(1, 'i1', 'bad_knnn');

-- recommend_all
SELECT * FROM recommend_all(0, 'bad_knn');
SELECT * FROM recommend_all(NULL, 'bad_knn');
SELECT * FROM recommend_all(5, 'bad_knnn');
SELECT * FROM recommend_all(5, 'bad_knn', users => ARRAY[['1', '2'], ['3', '4']]);

-- evaluate
SELECT * FROM evaluate('bad_knn', 'SELECT user_id, item_id FROM bad_rows', 0);
SELECT * FROM evaluate(NULL, 'SELECT user_id, item_id FROM bad_rows');
SELECT * FROM evaluate('bad_knn', NULL);
SELECT * FROM evaluate('bad_knnn', 'SELECT user_id, item_id FROM bad_rows');
SELECT * FROM evaluate('bad_knn', 'SELECT user_id FROM bad_rows');
SELECT * FROM evaluate('bad_knn', 'UPDATE bad_rows SET weight = 0');

-- split_per_user
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', -0.1);
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', 1.5);
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', 'NaN');
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', NULL);
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', 0.2, -1);
SELECT count(*) FROM split_per_user('SELECT item_id FROM bad_rows', 0.2);
-- a string where a number is expected: PostgreSQL refuses the literal before recsys is called
SELECT count(*) FROM split_per_user('SELECT user_id, item_id FROM bad_rows', 'lots');

-- split_last_n
SELECT count(*) FROM split_last_n('SELECT user_id, item_id, time FROM bad_rows', -1);
SELECT count(*) FROM split_last_n('SELECT user_id, item_id, time FROM bad_rows', NULL);
SELECT count(*) FROM split_last_n('SELECT user_id, item_id FROM bad_rows', 1);
SELECT count(*) FROM split_last_n('TRUNCATE bad_rows', 1);

-- in_test_split
SELECT in_test_split(1, 'i1'::text, 2);
SELECT in_test_split(1, 'i1'::text, 'NaN');
SELECT in_test_split(1, 'i1'::text, -0.5);
SELECT in_test_split(1.5, 'i1'::text, 0.2);
SELECT in_test_split(1, 'i1'::text, 0.2, -7);

-- tune
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', algorithms => ARRAY[]::text[]);
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', max_candidates => 0);
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', budget => interval '-1 minute');
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', seed => -1);
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', min_improvement => 'NaN');
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', validation_fraction => 'NaN');
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', metric => 'ndcg@0');
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows', algorithms => ARRAY['itemknn'],
                   search_space => '{"itemknn": {"neighbours": [-5, 10]}}');
SELECT * FROM tune('bad_tuned', 'SELECT user_id, item_id FROM bad_rows; SELECT 1');

-- fit_scaler
SELECT fit_scaler(weight, 'MinMax') FROM bad_rows;
SELECT fit_scaler(weight, '') FROM bad_rows;
SELECT fit_scaler(v) FROM (VALUES (1.0::float8), ('Infinity')) AS t(v);

-- scale
SELECT scale(1, '{}');
SELECT scale(1, '[1, 2]');
SELECT scale(1, '{"method": "log"}');
SELECT scale(1, '{"method": "zscore", "mean": 0}');
SELECT scale(1, '{"method": "zscore", "mean": 0, "stddev": -1}');
SELECT scale(1, '{"method": "zscore", "mean": "zero", "stddev": 1}');
SELECT scale('NaN', '{"method": "zscore", "mean": 0, "stddev": 1}');

-- log_weight
SELECT log_weight(-1);
SELECT log_weight(1, 'NaN');
SELECT log_weight(1, 1, 0);

-- decay_weight
SELECT decay_weight(1, '2024-01-01', '2024-02-01', interval '0');
SELECT decay_weight(1, '2024-01-01', '2024-02-01', interval '-1 day');
SELECT decay_weight(-1, '2024-01-01', '2024-02-01', interval '1 day');
SELECT decay_weight(1, '2024-01-01', 'infinity', interval '1 day');

-- clip_weight
SELECT clip_weight(5, -1);
SELECT clip_weight(5, 'NaN');
SELECT clip_weight('NaN', 5);

-- pseudonymize
SELECT pseudonymize(42, '');
SELECT pseudonymize('c42', '');

-- pseudonymize_hex
SELECT pseudonymize_hex(42, '');
SELECT pseudonymize_hex('c42', '');

-- mask_email
SELECT mask_email('no at sign');
SELECT mask_email('');

-- mask_phone
SELECT mask_phone('+44 20 7946 0958', -1);

-- mask_name
SELECT mask_name('');

-- mask_text
SELECT mask_text('secret', -1);
SELECT mask_text('secret', 1, -2);
SELECT mask_text('secret', 1, 1, '');
SELECT mask_text('secret', 1, 1, '**');

-- recsys_query_columns
SELECT recsys_query_columns('DELETE FROM bad_rows', current_setting('search_path'));
SELECT recsys_query_columns('SELECT * FROM bad_rowz', current_setting('search_path'));
SELECT recsys_query_columns('SELECT 1; SELECT 2', current_setting('search_path'));

-- recsys_query_body
SELECT recsys_query_body('SELECT 1; SELECT 2');
SELECT recsys_query_body('-- only a comment');
SELECT recsys_query_body('SELECT FROM WHERE');

-- recsys_query_has_weight
SELECT recsys_query_has_weight('SELECT user_id FROM bad_rows', current_setting('search_path'));
SELECT recsys_query_has_weight('INSERT INTO bad_rows DEFAULT VALUES', current_setting('search_path'));

-- distribute_store and train_distributed without Citus; the shards' parts
-- must be what recsys_train_shard wrote
SELECT distribute_store();
SELECT train_distributed('x', 'itemknn', 'bad_rows', 'user_id', 'item_id');
SELECT recsys_train_shards('itemknn', '\x00', '{}');
SELECT recsys_train_shards('itemknn', NULL, '{}');
SELECT recsys_train_shards(NULL, '\x00', '{}');
SELECT recsys_train_shards('itemknn', s, '{}')
  FROM (SELECT recsys_train_shard('itemknn', user_id, item_id, 1.0) AS s FROM bad_rows GROUP BY item_id) p;
SELECT describe_model(recsys_train_shards('popularity', s, '{}')) ->> 'users' AS users
  FROM (SELECT recsys_train_shard('popularity', user_id, item_id, 1.0) AS s FROM bad_rows GROUP BY user_id % 2) p;

-- clean-up
SELECT name FROM recsys_list_models();
SELECT drop_model('bad_knn');
SELECT drop_model('bad_pop');
DROP TABLE bad_rows, bad_model;
DROP EXTENSION recsys;
