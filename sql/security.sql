-- Security: the extension's own schema and pinned search_path, model
-- ownership, privileges checked on every call (cached or not), bounded
-- settings and cache, and no crash on NULL in any argument.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
CREATE TABLE sec_purchases (customer_id bigint, stock_code text, bought date);
INSERT INTO sec_purchases
SELECT c, 'SKU' || ((c * 7 + i * 13) % 30), date '2024-01-01' + i
FROM generate_series(1, 50) c, generate_series(1, 6) i;
GRANT SELECT ON sec_purchases TO PUBLIC;

------------------------------------------------------------------ the schema
-- Everything is in schema recsys; no function is SECURITY DEFINER.
SELECT e.extnamespace::regnamespace AS schema, e.extrelocatable AS relocatable
FROM pg_extension e WHERE e.extname = 'recsys';
CREATE VIEW sec_functions AS
SELECT p.oid, p.proname, p.prokind, p.prosecdef, p.proconfig, p.prosrc, l.lanname, p.pronargs,
       p.proargtypes::regtype[] AS types, p.prorettype
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
     JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'recsys';
SELECT count(*) AS functions, count(*) FILTER (WHERE f.prosecdef) AS security_definer,
       bool_and(p.pronamespace = 'recsys'::regnamespace) AS all_in_recsys
FROM sec_functions f JOIN pg_proc p USING (oid);

-- Every SQL and PL/pgSQL function pins search_path, except the thin entry
-- points that pass the caller's search_path on for the caller's query: those
-- hold one statement in which every function is schema-qualified.
SELECT proname, pg_get_function_identity_arguments(oid) AS arguments,
       prosrc ~ '(^|[^.\w])[a-z_]+\s*\(' AS unqualified_call
FROM sec_functions
WHERE lanname IN ('sql', 'plpgsql') AND NOT coalesce('search_path=pg_catalog, recsys, pg_temp' = ANY (proconfig), false)
ORDER BY 1;

-- D2: a role that can create in public (here: by grant; by default the owner
-- of the database) plants overloads that beat pg_catalog's on exact argument
-- types. Run as superuser with public searched first, nothing of them runs.
CREATE ROLE regress_attacker;
GRANT CREATE ON SCHEMA public TO regress_attacker;
CREATE TABLE public.sec_trap_log (caller name);
GRANT INSERT ON public.sec_trap_log TO PUBLIC;
SET ROLE regress_attacker;
CREATE FUNCTION public.sec_trap() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_trap_log VALUES (current_user);
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE regress_attacker SUPERUSER;
    END IF;
    RETURN 'x';
END $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql AS $$ SELECT public.sec_trap() $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT public.sec_trap() $$;
CREATE FUNCTION public.format(text, text, text, text) RETURNS text LANGUAGE sql AS $$ SELECT public.sec_trap() $$;
CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(public.sec_trap()) $$;
CREATE FUNCTION public.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(public.sec_trap()) $$;
CREATE FUNCTION public.array_to_string(text[], text) RETURNS text LANGUAGE sql AS $$ SELECT public.sec_trap() $$;
CREATE FUNCTION public.cardinality(text[]) RETURNS integer LANGUAGE sql AS $$ SELECT length(public.sec_trap()) $$;
CREATE FUNCTION public.cardinality(jsonb[]) RETURNS integer LANGUAGE sql AS $$ SELECT length(public.sec_trap()) $$;
CREATE FUNCTION public.sec_cat(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT public.sec_trap() $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = public.sec_cat);
RESET ROLE;
SET search_path = public, pg_catalog, recsys;
SELECT train('sec_model', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases') ->> 'algorithm' AS trained;
SET client_min_messages = warning;  -- tune's progress notices print times
SELECT count(*) AS candidates FROM tune('sec_tuned', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases',
                                        algorithms => ARRAY['itemknn'], max_candidates => 2);
RESET client_min_messages;
SELECT metric, round(value::numeric, 3) AS value FROM evaluate('sec_model',
    'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases WHERE customer_id < 5', 5) WHERE metric = 'users';
SELECT count(*) AS rows FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases', 0.2);
SELECT count(*) AS rows FROM split_last_n(
    'SELECT customer_id AS user_id, stock_code AS item_id, bought AS time FROM sec_purchases', 1);
SELECT count(*) AS recommended FROM recommend(1, 5, model => 'sec_model');
SELECT count(*) AS models FROM recsys_list_models();
SELECT describe_model('sec_tuned') ->> 'algorithm' AS described;
SELECT drop_model('sec_tuned');
SELECT (SELECT count(*) FROM public.sec_trap_log) AS trap_calls,
       (SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_attacker') AS attacker_is_superuser;
SET search_path = public, recsys;
DROP OPERATOR public.|| (text, integer);
DROP FUNCTION public.format(text, text), public.format(text, text, text), public.format(text, text, text, text),
              public.jsonb_build_object(text, text), public.jsonb_build_object(text, jsonb),
              public.array_to_string(text[], text), public.cardinality(text[]), public.cardinality(jsonb[]),
              public.sec_cat(text, integer), public.sec_trap();
DROP TABLE public.sec_trap_log;
REVOKE CREATE ON SCHEMA public FROM regress_attacker;
DROP ROLE regress_attacker;

----------------------------------------------------------------- ownership
-- D7: a model belongs to the role that trained it; only its members or
-- recsys_admin may replace or drop it, whichever way they try.
CREATE ROLE regress_alice IN ROLE recsys_trainer;
CREATE ROLE regress_bob IN ROLE recsys_trainer;
CREATE ROLE regress_carol IN ROLE recsys_admin;
CREATE ROLE regress_reader IN ROLE recsys_reader;
SET ROLE regress_alice;
SELECT train('alice_model', 'popularity',
             'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases') ->> 'name' AS trained;
SELECT name, owner FROM recsys_list_models() WHERE name = 'alice_model';
SET ROLE regress_bob;
SELECT train('alice_model', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases');
SELECT save_model('alice_model', recsys_train('popularity', 1, 'forged'));
SELECT drop_model('alice_model');
UPDATE recsys_models SET created_at = 'infinity', params = '{}' WHERE name = 'alice_model';
DELETE FROM recsys_models WHERE name = 'alice_model';
INSERT INTO recsys_models (name, owner, algorithm, params, n_users, n_items, n_interactions, model_bytes, model)
VALUES ('forged', 'regress_alice', 'popularity', '{}', 0, 0, 0, 0, '\x');
SELECT count(*) AS bob_evaluates FROM evaluate('alice_model',
    'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases');
SET ROLE regress_reader;
SELECT train('reader_model', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases');
SELECT count(*) AS reader_served FROM recommend(1, 3, model => 'alice_model');
SELECT model FROM recsys_models WHERE name = 'alice_model';
SET ROLE regress_carol;
SELECT count(*) AS admin_reads_bytes FROM recsys_models WHERE name = 'alice_model' AND model IS NOT NULL;
SELECT train('alice_model', 'itemknn',
             'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases') ->> 'algorithm' AS admin_replaced;
RESET ROLE;
SELECT name, owner, algorithm, metrics IS NULL AS no_metrics FROM recsys_models WHERE name = 'alice_model' AND active;

-- D15: the name, the privileges and the parameters fail before the query
-- runs (this one would divide by zero).
SET ROLE regress_bob;
SELECT train('alice_model', 'popularity', 'SELECT 1 / 0 AS user_id, ''x'' AS item_id');
SELECT train('', 'popularity', 'SELECT 1 / 0 AS user_id, ''x'' AS item_id');
SELECT train('bob_model', 'itemknn', 'SELECT 1 / 0 AS user_id, ''x'' AS item_id', '{"neighbors": 5}');
SELECT train('bob_model', 'nope', 'SELECT 1 / 0 AS user_id, ''x'' AS item_id');
SET ROLE regress_reader;
SELECT train('reader_model', 'popularity', 'SELECT 1 / 0 AS user_id, ''x'' AS item_id');
RESET ROLE;

---------------------------------------------------- privileges on every call
-- D5: a warm cache does not serve a role that may not read the store.
CREATE ROLE regress_nobody;
SELECT count(*) AS warm FROM recommend(1, 3, model => 'alice_model');
SET ROLE regress_nobody;
SELECT count(*) FROM recommend(1, 3, model => 'alice_model');
SELECT count(*) FROM recommend_all(3, model => 'alice_model');
SELECT count(*) FROM similar_items('SKU1', 3, model => 'alice_model');
RESET ROLE;

-- D6: an explanation lists a user's stored purchases, so only roles that
-- may read what the model embeds get one: members of its owner and
-- recsys_admin, not readers (nor trainers of other models). With row-level
-- security on the purchases, readers see none of another user's rows.
ALTER TABLE sec_purchases ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sec_purchases FOR SELECT USING (customer_id = 1);
SET ROLE regress_reader;
SELECT count(*) AS visible_purchases FROM sec_purchases;
SELECT * FROM explain_recommendation(2, 'SKU1', model => 'alice_model');
SET ROLE regress_bob;
SELECT * FROM explain_recommendation(2, 'SKU1', model => 'alice_model');
SET ROLE regress_alice;
SELECT count(*) > 0 AS owner_explains FROM explain_recommendation(2, 'SKU1', model => 'alice_model');
RESET ROLE;
ALTER TABLE sec_purchases DISABLE ROW LEVEL SECURITY;

-- D4: a reader serves the version its snapshot sees, and the new one as soon
-- as its snapshot does: a retrain committed by another session mid-way
-- through a REPEATABLE READ transaction is not seen in it, and is after it.
CREATE EXTENSION dblink;
SELECT 'dbname=' || current_database() AS other_session \gset
SELECT train('fresh', 'popularity', 'SELECT 1 AS user_id, ''old'' AS item_id') ->> 'name' AS trained;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT item_id FROM recommend(2, 1, model => 'fresh');
SELECT * FROM dblink(:'other_session',
    $$SELECT recsys.train('fresh', 'popularity', 'SELECT 1 AS user_id, ''new'' AS item_id') ->> 'name'$$) AS t(retrained text);
SELECT item_id FROM recommend(2, 1, model => 'fresh');
COMMIT;
SELECT item_id FROM recommend(2, 1, model => 'fresh');
-- and within one transaction, a model replaced twice is never served stale
BEGIN;
SELECT train('fresh', 'popularity', 'SELECT 1 AS user_id, ''first'' AS item_id') ->> 'name' AS trained;
SELECT item_id FROM recommend(2, 1, model => 'fresh');
SELECT train('fresh', 'popularity', 'SELECT 1 AS user_id, ''second'' AS item_id') ->> 'name' AS trained;
SELECT item_id FROM recommend(2, 1, model => 'fresh');
COMMIT;
DROP EXTENSION dblink;

------------------------------------------------------------------ resources
-- D8: sessions may not raise threads or memory beyond what a superuser set,
-- nor touch the maximums or the cache's size.
SET recsys.max_threads = 2;
SET recsys.max_memory = '1GB';
SET ROLE regress_nobody;
SET recsys.threads = 64;
SET recsys.memory_limit = '100GB';
SET recsys.max_threads = 64;
SET recsys.max_memory = '100GB';
SET recsys.cache_memory = '100GB';
SET recsys.shared_cache_memory = '100GB';  -- server memory: postgresql.conf only
SET recsys.threads = 1;
SET recsys.memory_limit = '10MB';
RESET ROLE;
SET recsys.max_threads = 4;
SET recsys.threads = 4;
SET recsys.threads = 5;
RESET recsys.threads;
RESET recsys.memory_limit;
RESET recsys.max_threads;
RESET recsys.max_memory;

-- The cache holds at most recsys.cache_memory, dropping the least recently
-- used model; a model larger than all of it is kept for its transaction only.
CREATE TABLE sec_wide AS SELECT u AS user_id, 'item' || i AS item_id
FROM generate_series(1, 3000) u, generate_series(1, 40) i WHERE (u + i) % 3 = 0;
SELECT train('wide_a', 'itemknn', 'SELECT * FROM sec_wide') ->> 'name' AS a,
       train('wide_b', 'itemknn', 'SELECT * FROM sec_wide WHERE user_id > 10') ->> 'name' AS b,
       train('wide_c', 'itemknn', 'SELECT * FROM sec_wide WHERE user_id > 20') ->> 'name' AS c;
-- each counts its bytes and 64 per id: two fit in 1200 kB, three do not
SELECT name, model_bytes + 64 * (n_users + n_items) BETWEEN 500000 AND 600000 AS about_550kb
FROM recsys_models WHERE name LIKE 'wide%' ORDER BY name;
SET recsys.cache_memory = 0;  -- every model is kept for its transaction only: this empties the cache
SELECT count(*) FROM recommend(1, 3, model => 'wide_a');
SET recsys.cache_memory = '1200kB';
SELECT (s ->> 'cached_models')::int AS cached, (s ->> 'evictions')::int AS evictions_before,
       (s ->> 'decodes')::int AS decodes_before
FROM recsys_cache_stats() s \gset
SELECT :cached AS cached_at_start;
SELECT count(*) FROM recommend(1, 3, model => 'wide_a');
SELECT count(*) FROM recommend(1, 3, model => 'wide_b');
SELECT count(*) FROM recommend(1, 3, model => 'wide_c');
SELECT count(*) FROM recommend(1, 3, model => 'wide_a');
SELECT (s ->> 'evictions')::int - :evictions_before AS evictions, (s ->> 'decodes')::int - :decodes_before AS decodes,
       (s ->> 'cached_models')::int AS cached,
       (s ->> 'cached_bytes')::bigint <= (s ->> 'limit_bytes')::bigint AS within_limit
FROM recsys_cache_stats() s;
SET recsys.cache_memory = '100kB';
BEGIN;
SELECT count(*) FROM recommend(1, 3, model => 'wide_a');
SELECT (s ->> 'cached_models')::int AS cached, (s ->> 'cached_bytes')::bigint AS counted_bytes FROM recsys_cache_stats() s;
COMMIT;
SELECT (recsys_cache_stats() ->> 'cached_models')::int AS cached_after_commit;
BEGIN;
SELECT (recsys_cache_stats() ->> 'decodes')::int AS decodes_before \gset
SELECT count(*) FROM (SELECT DISTINCT user_id FROM sec_wide) u CROSS JOIN LATERAL recommend(u.user_id, 2, model => 'wide_a') r;
SELECT (recsys_cache_stats() ->> 'decodes')::int - :decodes_before AS decodes_for_3000_users;
COMMIT;
RESET recsys.cache_memory;

--------------------------------------------------------------- bad queries
-- D10: a query ending in a comment or a semicolon trains, tunes and splits.
SELECT train('commented', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases -- all')
       ->> 'users' AS users;
SELECT train('commented', 'popularity', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases; -- all')
       ->> 'users' AS users;
SELECT count(*) AS rows FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases -- x', 0.2);
SET client_min_messages = warning;
SELECT count(*) AS candidates FROM tune('commented', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases -- x',
                                        algorithms => ARRAY['itemknn'], max_candidates => 1);
RESET client_min_messages;
SELECT count(*) FROM evaluate('commented', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases -- x');

-- D12, D13: NaN, NULL fractions and seeds are refused, not taken as 0.
SELECT * FROM tune('nan', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases', min_improvement => 'NaN');
SELECT * FROM tune('nan', 'SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases', min_improvement => 'Infinity');
SELECT count(*) FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases', NULL);
SELECT count(*) FROM split_per_user('SELECT customer_id AS user_id, stock_code AS item_id FROM sec_purchases', 0.2, NULL);
SELECT count(*) FROM split_last_n('SELECT customer_id AS user_id, stock_code AS item_id, bought AS time FROM sec_purchases', NULL);

----------------------------------------------------------- NULL everywhere
-- D1: NULL in the query of a split crashed the backend.
SELECT * FROM split_per_user(NULL, 0.2);
SELECT * FROM recsys_split(NULL, NULL, NULL, NULL, NULL, NULL);
-- Every function of the extension, called with NULL in each argument in turn
-- and in all at once (aggregates over one row): errors are fine, a crash or
-- an internal error is not.
CREATE FUNCTION sec_sample(t regtype) RETURNS text LANGUAGE sql AS $$
    SELECT CASE t WHEN 'text'::regtype THEN '''x''' WHEN 'bigint'::regtype THEN '1' WHEN 'integer'::regtype THEN '1'
                  WHEN 'double precision'::regtype THEN '0.5' WHEN 'jsonb'::regtype THEN '''{}''::jsonb'
                  WHEN 'bytea'::regtype THEN '''\x00''::bytea' WHEN 'text[]'::regtype THEN 'ARRAY[''x'']'
                  WHEN 'double precision[]'::regtype THEN 'ARRAY[1.0]::float8[]' WHEN 'boolean'::regtype THEN 'true'
                  WHEN 'interval'::regtype THEN '''1 second''::interval'
                  WHEN 'timestamp with time zone'::regtype THEN 'now()' WHEN '"any"'::regtype THEN '1'
                  WHEN 'name'::regtype THEN '''x''::name' END
$$;
DO $$
DECLARE
    f record;
    i integer;
    args text[];
    sql text;
    calls integer := 0;
    internal_errors text[] := '{}';
BEGIN
    FOR f IN SELECT * FROM sec_functions WHERE prorettype <> 'trigger'::regtype ORDER BY proname, oid LOOP
        FOR i IN 0 .. f.pronargs LOOP
            SELECT array_agg(CASE WHEN t = '"any"'::regtype AND (i = 0 OR n = i) THEN 'NULL::text'
                                  WHEN i = 0 OR n = i OR t = 'internal'::regtype OR sec_sample(t) IS NULL
                                  THEN 'NULL::' || format_type(t, NULL) ELSE sec_sample(t) END ORDER BY n)
              INTO args FROM unnest(f.types) WITH ORDINALITY AS a(t, n);
            sql := CASE WHEN f.prokind = 'a' THEN format('SELECT recsys.%I(%s) FROM (VALUES (1)) AS v', f.proname,
                                                         array_to_string(args, ', '))
                        ELSE format('SELECT * FROM recsys.%I(%s)', f.proname, coalesce(array_to_string(args, ', '), ''))
                   END;
            BEGIN
                EXECUTE sql;
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE = 'XX000' THEN  -- internal_error: a bug
                    internal_errors := internal_errors || (sql || ': ' || SQLERRM);
                END IF;
            END;
            calls := calls + 1;
        END LOOP;
    END LOOP;
    RAISE NOTICE 'called % times with NULL arguments; internal errors: %', calls, internal_errors;
END
$$;
SELECT 'still connected' AS backend;

-- clean up
DROP FUNCTION sec_sample(regtype);
DROP VIEW sec_functions;
DROP TABLE sec_purchases, sec_wide;
DROP ROLE regress_alice, regress_bob, regress_carol, regress_reader, regress_nobody;
DROP EXTENSION recsys;
