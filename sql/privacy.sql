-- Privacy helpers: pseudonyms and masking.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never

-- pseudonyms are stable for a key, differ between keys, and agree for 42 and '42'
SELECT pseudonymize(12347, 'k1') = pseudonymize(12347, 'k1') AS stable,
       pseudonymize(12347, 'k1') <> pseudonymize(12347, 'k2') AS keyed,
       pseudonymize(42, 'k1') = pseudonymize('42', 'k1') AS same_for_text,
       pseudonymize(12347, 'k1') > 0 AS positive;
-- RFC 4231 test case 2: HMAC-SHA-256("Jefe", "what do ya want for nothing?")
SELECT pseudonymize_hex('what do ya want for nothing?', 'Jefe');
SELECT pseudonymize(NULL::bigint, 'k1') IS NULL AS null_in_null_out;
-- the server key: set only with ALTER SYSTEM (a superuser's, and unlike ALTER
-- DATABASE/ROLE settings not readable by every role), used only by members of
-- recsys_pseudonymizer, never shown to other roles nor in errors
SELECT pseudonymize(1);
SELECT pseudonymize(1, '');
SET recsys.pseudonymize_key = 's3cret-key';
SELECT current_database() AS db \gset
ALTER DATABASE :"db" SET recsys.pseudonymize_key = 's3cret-key';
ALTER SYSTEM SET recsys.pseudonymize_key = 's3cret-key';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT pseudonymize(1) = pseudonymize(1, 's3cret-key') AS from_setting;
CREATE ROLE regress_app;
SET ROLE regress_app;
SHOW recsys.pseudonymize_key;
SELECT count(*) AS visible FROM pg_settings WHERE name = 'recsys.pseudonymize_key';
SET recsys.pseudonymize_key = 'mine';
SELECT pseudonymize(1);
SELECT pseudonymize_hex('a');
SELECT pseudonymize(1, 'own key') = pseudonymize(1, 'own key') AS own_key_works;
RESET ROLE;
GRANT recsys_pseudonymizer TO regress_app;
SET ROLE regress_app;
SELECT pseudonymize(1) = pseudonymize(1, 's3cret-key') AS granted;
RESET ROLE;
ALTER ROLE regress_app SET recsys.pseudonymize_key = 'other';
DROP ROLE regress_app;
ALTER SYSTEM RESET recsys.pseudonymize_key;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT pseudonymize(1);

-- pseudonymised training: the model never sees a real customer number
CREATE TABLE privacy_purchases (customer_id bigint, stock_code text);
INSERT INTO privacy_purchases VALUES (1, 'a'), (1, 'b'), (2, 'a'), (2, 'c'), (3, 'b'), (3, 'c');
SELECT train('pseudo', 'popularity',
             'SELECT pseudonymize(customer_id, ''k1'') AS user_id, stock_code AS item_id FROM privacy_purchases')
       ->> 'users' AS users;
SELECT * FROM recommend(pseudonymize(1, 'k1'), 2, model => 'pseudo');

-- k-anonymity: items bought by fewer than 2 customers never appear in a model
INSERT INTO privacy_purchases VALUES (4, 'rare'), (4, 'a'), (5, 'b');
SELECT train('k2', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_purchases',
             '{"min_users_per_item": 2, "min_items_per_user": 2}') - 'params' - 'bytes' - 'train_seconds' AS k2;
SELECT count(*) AS rare_recommended FROM recommend(1, 100, model => 'k2') WHERE item_id = 'rare';
SELECT * FROM recommend(5, 2, model => 'k2');  -- customer 5 bought one item: unknown to the model
SELECT train('k9', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_purchases',
             '{"min_users_per_item": 9}');
-- a model without per-user data serves baskets only
SELECT train('basket_only', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_purchases',
             '{"store_history": false, "pseudonymized_ids": true}') ->> 'users' AS users;
SELECT describe_model('basket_only') -> 'per_user_history' AS history, describe_model('basket_only') -> 'user_ids' AS ids;
SELECT * FROM recommend(1, 2, model => 'basket_only');
SELECT * FROM recommend_for_items(ARRAY['a'], 2, model => 'basket_only');
SELECT train('als_no_users', 'als', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_purchases',
             '{"store_history": false}');
-- differentially private popularity: Laplace noise, reproducible only with an explicit seed
CREATE TABLE privacy_many AS SELECT c AS customer_id, 'item' || (c * 7 % 20) AS stock_code
FROM generate_series(1, 2000) c;
SELECT train('dp', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"epsilon": 1, "max_items_per_user": 1, "seed": 7}') -> 'params' AS params;
SELECT count(*) AS items, bool_and(abs(score - 100) < 20) AS close_to_100, bool_or(score <> 100) AS noisy
FROM recommend(NULL::bigint, 20, model => 'dp');
SELECT train('dp2', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"epsilon": 1, "max_items_per_user": 1, "seed": 7}') IS NOT NULL;
SELECT (SELECT array_agg(score ORDER BY item_id) FROM recommend(NULL::bigint, 20, model => 'dp'))
     = (SELECT array_agg(score ORDER BY item_id) FROM recommend(NULL::bigint, 20, model => 'dp2')) AS same_seed_same_noise;
SELECT train('dp3', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"epsilon": 1}') -> 'params' AS seed_not_recorded;
SELECT train('dp4', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"epsilon": 0}');
-- differentially private "bought together": noisy co-occurrence counts
SELECT train('dp_pairs', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"similarity": "cooccurrence", "epsilon": 1, "max_items_per_user": 5, "seed": 7}') -> 'params' ->> 'epsilon';
SELECT count(*) BETWEEN 1 AND 10 AS some_neighbours FROM similar_items('item3', 10, model => 'dp_pairs');
SELECT train('dp_bad', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM privacy_many',
             '{"epsilon": 1}');
DROP TABLE privacy_many;

-- masking, NULL-safe and UTF-8-safe
SELECT mask_email('john.doe@example.com'), mask_email('x@y.org'), mask_email('no-at-sign'), mask_email('zoë@exämple.de');
SELECT mask_phone('+44 20 7946 0958'), mask_phone('555-0100', keep_last => 2), mask_phone('12');
SELECT mask_name('Zoë Ødegård'), mask_name('Jean-Luc Picard'), mask_name('李小龍');
SELECT mask_text('4111111111111111', 0, 4), mask_text('Grüße', 1, 1), mask_text('ab', 1, 1), mask_text('🎉🎈🎁', 1, 0, '•');
SELECT mask_email(NULL), mask_text(NULL);
SELECT mask_text('abc', -1);
SELECT mask_text('abc', 1, 0, '**');

-- clean up
DROP TABLE privacy_purchases;
DROP EXTENSION recsys;
