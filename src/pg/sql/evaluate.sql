------------------------------------------------------------------------------
-- Splits and evaluation
------------------------------------------------------------------------------
CREATE FUNCTION in_test_split(user_id "any", item_id "any", fraction float8, seed bigint DEFAULT 42) RETURNS boolean
    AS 'MODULE_PATHNAME', 'recsys_in_test_split' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION in_test_split("any", "any", float8, bigint) IS
    'True for the share `fraction` of (user, item) pairs that form the test set; the same on every machine for a seed.';

CREATE FUNCTION recsys_split(query text, method text, fraction float8, n integer, seed bigint, search_path text)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean)
    AS 'MODULE_PATHNAME', 'recsys_split' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_split(text, text, float8, integer, bigint, text) IS
    'The rows of a query parsed with the given search_path, split (used by split_*).';

CREATE FUNCTION split_per_user(query text, fraction float8, seed bigint DEFAULT 42)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM recsys.recsys_split($1, 'per_user', $2, NULL, $3, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION split_per_user(text, float8, bigint) IS
    'Holds out round(fraction * n) of each user''s n distinct items (at least one stays in training).';

CREATE FUNCTION recsys_split_last_n(query text, n integer, seed bigint, search_path text)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text := recsys.recsys_query_body(query);
BEGIN
    IF NOT 'time' = ANY (recsys.recsys_query_columns(source, search_path)) THEN
        RAISE EXCEPTION 'the query must return a column named time' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Add the purchase time, e.g. SELECT customer_id AS user_id, stock_code AS item_id, invoice_date AS time.';
    END IF;
    -- The wrapping is parsed with the caller's path too: qualified throughout.
    RETURN QUERY SELECT * FROM recsys.recsys_split(
        format('SELECT q.*, pg_catalog.date_part(''epoch'', q.time)::pg_catalog.float8 AS recsys_epoch FROM (%s) AS q',
               source),
        'last_n', NULL, n, seed, search_path);
END
$$;
COMMENT ON FUNCTION recsys_split_last_n(text, integer, bigint, text) IS
    'split_last_n() with the search_path to parse the caller''s query with.';

CREATE FUNCTION split_last_n(query text, n integer, seed bigint DEFAULT 42)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM recsys.recsys_split_last_n($1, $2, $3, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION split_last_n(text, integer, bigint) IS
    'Holds out each user''s last n distinct items by the query''s "time" column (at least one stays in training).';

-- split_by_time: the caller's query is parsed with the caller's search_path
-- (set for the statement only; the function's own path comes back at exit),
-- the wrapping around it is qualified throughout.
CREATE FUNCTION recsys_split_by_time(query text, cutoff timestamptz, search_path text)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    columns text[];
    split text;
BEGIN
    IF query IS NULL OR cutoff IS NULL OR search_path IS NULL THEN
        RAISE EXCEPTION 'query and cutoff must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'e.g. split_by_time(''SELECT customer_id AS user_id, stock_code AS item_id, invoice_date AS time '
                   'FROM purchases'', ''2011-11-09'').';
    END IF;
    source := recsys.recsys_query_body(query);
    columns := recsys.recsys_query_columns(source, search_path);
    IF NOT ('user_id' = ANY (columns) AND 'item_id' = ANY (columns) AND 'time' = ANY (columns)) THEN
        RAISE EXCEPTION 'the query must return columns named user_id, item_id and time'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS, e.g. invoice_date AS time.',
                                array_to_string(columns, ', '));
    END IF;
    split := format(
        'SELECT q.user_id::pg_catalog.text, q.item_id::pg_catalog.text, %s, '
        'q.time::pg_catalog.timestamptz OPERATOR(pg_catalog.>=) $1 FROM (%s) AS q '
        'WHERE q.user_id IS NOT NULL AND q.item_id IS NOT NULL AND q.time IS NOT NULL',
        CASE WHEN 'weight' = ANY (columns) THEN 'q.weight::pg_catalog.float8' ELSE 'NULL::pg_catalog.float8' END,
        source);
    PERFORM pg_catalog.set_config('search_path', search_path, true);
    RETURN QUERY EXECUTE split USING cutoff;
END
$$;
COMMENT ON FUNCTION recsys_split_by_time(text, timestamptz, text) IS
    'split_by_time() with the search_path to parse the caller''s query with.';

CREATE FUNCTION split_by_time(query text, cutoff timestamptz)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM recsys.recsys_split_by_time($1, $2, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION split_by_time(text, timestamptz) IS
    'Every row of the query, a test row when its "time" is at or after the cutoff (rows with a NULL id or time are left out).';

CREATE FUNCTION recsys_evaluate(model text, test_query text, k integer, search_path text,
                                exclude_seen boolean DEFAULT true) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_evaluate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_evaluate(text, text, integer, text, boolean) IS
    'Ranking metrics of a model on test rows (the query parsed with the given search_path), as jsonb.';

CREATE FUNCTION recsys_evaluate_with_path(model text, test_query text, k integer, search_path text,
                                          exclude_seen boolean DEFAULT true)
RETURNS TABLE (metric text, value double precision) LANGUAGE plpgsql
SET search_path = pg_catalog, recsys, pg_temp AS $$
#variable_conflict use_column
DECLARE
    result jsonb;
BEGIN
    result := recsys.recsys_evaluate(model, recsys.recsys_query_body(test_query), k, search_path, exclude_seen);
    -- Stored with the model when the caller may change it, merged into what
    -- is there so training reports (update, retrain, ranker) survive.
    -- (The owner is checked first, not in the UPDATE: Citus refuses a
    -- function of a column in an UPDATE of a reference table.)
    IF has_table_privilege('recsys.recsys_models', 'UPDATE')
       AND recsys.recsys_may_change((SELECT m.owner FROM recsys.recsys_models m
                                      WHERE m.name = recsys_evaluate_with_path.model AND m.active)) THEN
        UPDATE recsys.recsys_models m SET metrics = coalesce(m.metrics, '{}') || result
         WHERE m.name = recsys_evaluate_with_path.model AND m.active;
    END IF;
    RETURN QUERY
    SELECT x.metric || '@' || recsys_evaluate_with_path.k, (result -> 'all' ->> x.metric)::double precision
      FROM unnest(ARRAY['precision', 'recall', 'ndcg', 'map', 'hit_rate', 'coverage']) WITH ORDINALITY AS x(metric, i)
    UNION ALL SELECT 'users', (result -> 'all' ->> 'users')::double precision
    UNION ALL SELECT 'unknown_users', (result -> 'unknown' ->> 'users')::double precision;
END
$$;
COMMENT ON FUNCTION recsys_evaluate_with_path(text, text, integer, text, boolean) IS
    'evaluate() with the search_path to parse the caller''s query with.';

CREATE FUNCTION evaluate(model text, test_query text, k integer DEFAULT 10, exclude_seen boolean DEFAULT true)
RETURNS TABLE (metric text, value double precision) LANGUAGE sql
    AS $$ SELECT * FROM recsys.recsys_evaluate_with_path($1, $2, $3, pg_catalog.current_setting('search_path'), $4) $$;
COMMENT ON FUNCTION evaluate(text, text, integer, boolean) IS
    'precision, recall, NDCG, MAP, hit rate and coverage at k of a model on test rows (the users'' own items left out '
    'unless exclude_seen is false); stored in recsys_models.metrics when the caller may change the model.';
