------------------------------------------------------------------------------
-- Training aggregate: recsys_train(algorithm, user_id, item_id [, weight [, params]])
------------------------------------------------------------------------------
CREATE FUNCTION recsys_train_transition(internal, text, "any", "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_train_transition(internal, text, "any", "any", float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_train_transition(internal, text, "any", "any", float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_train_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_train_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_train_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_train_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_train_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_train_final' LANGUAGE C PARALLEL SAFE;

CREATE AGGREGATE recsys_train(algorithm text, user_id "any", item_id "any") (
    SFUNC = recsys_train_transition, STYPE = internal, FINALFUNC = recsys_train_final,
    COMBINEFUNC = recsys_train_combine, SERIALFUNC = recsys_train_serialize,
    DESERIALFUNC = recsys_train_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE recsys_train(algorithm text, user_id "any", item_id "any", weight float8) (
    SFUNC = recsys_train_transition, STYPE = internal, FINALFUNC = recsys_train_final,
    COMBINEFUNC = recsys_train_combine, SERIALFUNC = recsys_train_serialize,
    DESERIALFUNC = recsys_train_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE recsys_train(algorithm text, user_id "any", item_id "any", weight float8, params jsonb) (
    SFUNC = recsys_train_transition, STYPE = internal, FINALFUNC = recsys_train_final,
    COMBINEFUNC = recsys_train_combine, SERIALFUNC = recsys_train_serialize,
    DESERIALFUNC = recsys_train_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE recsys_train(text, "any", "any") IS
    'Trains a model over (user_id, item_id) rows; returns the model as bytea.';
COMMENT ON AGGREGATE recsys_train(text, "any", "any", float8) IS
    'Trains a model over (user_id, item_id, weight) rows; returns the model as bytea.';
COMMENT ON AGGREGATE recsys_train(text, "any", "any", float8, jsonb) IS
    'Trains a model over (user_id, item_id, weight) rows with parameters; returns the model as bytea.';

------------------------------------------------------------------------------
-- The caller's query, parameters, and train()
------------------------------------------------------------------------------
-- A caller's query, checked and made ready to wrap: its one statement's text
-- (no trailing semicolon) followed by a newline, so that a trailing
-- "-- comment" cannot swallow what is appended after it.
CREATE FUNCTION recsys_query_body(query text) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_query_body' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION recsys_query_body(text) IS 'The single SELECT of a query text, ready to be wrapped as a subquery.';

CREATE FUNCTION recsys_query_columns(query text, search_path text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'recsys_query_columns' LANGUAGE C STRICT;
COMMENT ON FUNCTION recsys_query_columns(text, text) IS
    'The column names a query returns when parsed with the given search_path (used by train).';

CREATE FUNCTION recsys_query_column_types(query text, search_path text) RETURNS regtype[]
    AS 'MODULE_PATHNAME', 'recsys_query_column_types' LANGUAGE C STRICT;
COMMENT ON FUNCTION recsys_query_column_types(text, text) IS
    'The column types a query returns when parsed with the given search_path, in the order of recsys_query_columns.';

CREATE FUNCTION recsys_query_has_weight(query text, search_path text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    columns text[] := recsys.recsys_query_columns(query, search_path);
BEGIN
    IF NOT ('user_id' = ANY (columns) AND 'item_id' = ANY (columns)) THEN
        RAISE EXCEPTION 'the training query must return columns named user_id and item_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS, e.g. SELECT customer_id AS user_id, '
                                'stock_code AS item_id, quantity AS weight FROM purchases.', array_to_string(columns, ', '));
    END IF;
    RETURN 'weight' = ANY (columns);
END
$$;
COMMENT ON FUNCTION recsys_query_has_weight(text, text) IS
    'Checks that a training query returns user_id and item_id; true if it also returns a weight.';

-- The core's error for a parameter set it refuses (unknown key, value out of
-- range, a combination that means nothing), raised with its hint; nothing if
-- it accepts them. Trains on four rows, so a typo fails in milliseconds
-- rather than after the whole training. The k-anonymity thresholds are left
-- out: on four rows they would leave nothing (the real run checks them first).
CREATE FUNCTION recsys_check_params(algorithm text, params jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF params IS NOT NULL AND jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a jsonb object, got %', jsonb_typeof(params)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Map parameter names to values, e.g. ''{"neighbours": 50}'', or pass ''{}'' for the defaults.';
    END IF;
    PERFORM recsys.recsys_train(algorithm, r.u, r.i, 1.0::float8,
                                coalesce(params, '{}') - 'min_users_per_item' - 'min_items_per_user')
       FROM (VALUES (1, 'a'), (2, 'a'), (2, 'b'), (3, 'c')) AS r(u, i);
END
$$;
COMMENT ON FUNCTION recsys_check_params(text, jsonb) IS
    'Raises the error an algorithm gives for a parameter set, if any (used by train and tune).';

-- train() runs the caller's query with the caller's search_path; all else
-- with the pinned one.
CREATE FUNCTION recsys_train_with_path(name text, algorithm text, query text, params jsonb, search_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    weight text;
    sql text;
    params_ constant jsonb := coalesce(params, '{}');
    stored jsonb;
BEGIN
    IF query IS NULL OR algorithm IS NULL THEN
        RAISE EXCEPTION 'algorithm and query must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. train(''shop'', ''itemknn'', ''SELECT customer_id AS user_id, stock_code AS item_id FROM purchases'').';
    END IF;
    -- Everything that can be checked without the data fails here, before
    -- the rows are read.
    PERFORM recsys.recsys_check_can_store(name);
    PERFORM recsys.recsys_check_params(algorithm, params_);
    source := recsys.recsys_query_body(query);
    weight := CASE WHEN recsys.recsys_query_has_weight(source, search_path)
                   THEN 'q.weight::pg_catalog.float8' ELSE '1.0::pg_catalog.float8' END;
    -- The model goes from the aggregate straight into the store, in one
    -- statement: passed by reference, never copied into a row of a result
    -- or a PL/pgSQL variable (a model may be hundreds of MB). NULL if the
    -- query returned no rows. The training time: from $4 to when the
    -- aggregate has returned.
    sql := format('SELECT CASE WHEN t.model IS NULL THEN NULL ELSE recsys.recsys_store_model($3, t.model, '
                  'pg_catalog.date_part(''epoch'', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) $4), $5) END '
                  'FROM (SELECT recsys.recsys_train($1, q.user_id, q.item_id, %s, $2) AS model FROM (%s) AS q) AS t',
                  weight, source);
    -- Only the query itself runs with the caller's path: every name in the
    -- wrapping and in the store it calls is qualified or pinned.
    PERFORM pg_catalog.set_config('search_path', recsys_train_with_path.search_path, true);
    -- The recipe: what retrain() runs again (its role is stamped by the store).
    EXECUTE sql INTO stored
      USING algorithm, params_, name, clock_timestamp(),
            jsonb_build_object('kind', 'train', 'algorithm', algorithm, 'params', params_, 'query', source,
                               'search_path', search_path);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, recsys, pg_temp', true);
    IF stored IS NULL THEN
        RAISE EXCEPTION 'the training query returned no rows' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Check the query: it must return at least one (user_id, item_id) row.';
    END IF;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION recsys_train_with_path(text, text, text, jsonb, text) IS
    'train() with the search_path to parse the caller''s query with.';

CREATE FUNCTION train(name text, algorithm text, query text, params jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$ SELECT recsys.recsys_train_with_path($1, $2, $3, $4, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION train(text, text, text, jsonb) IS
    'Trains a model over a query returning user_id, item_id [, weight] and stores it under a name.';
