-- recsys 0.2.0: install script.
--
-- Everything lives in schema recsys (recsys.control), where only the
-- installing superuser can create objects. Every SQL and PL/pgSQL function
-- pins search_path = pg_catalog, recsys, pg_temp, so no role can shadow a
-- call it makes (an overload in public with exact argument types would beat
-- pg_catalog's own). The few entry points that run a caller's query are thin,
-- fully qualified SQL wrappers: they pass the caller's search_path on, and the
-- query alone is parsed with it. No function is SECURITY DEFINER.
\echo Use "CREATE EXTENSION recsys" to load this file. \quit

------------------------------------------------------------------------------
-- Roles (README, "Security"). Roles belong to the cluster, not to a
-- database: the first CREATE EXTENSION creates them, DROP EXTENSION keeps
-- them.
--   recsys_reader         serves recommendations; lists models (not their bytes)
--   recsys_trainer        reader + trains, replaces and drops its own models
--   recsys_admin          trainer + replaces and drops anyone's models, reads
--                         model bytes, explains any model
--   recsys_pseudonymizer  may use the server's pseudonymisation key
------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_reader') THEN
        CREATE ROLE recsys_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_trainer') THEN
        CREATE ROLE recsys_trainer NOLOGIN IN ROLE recsys_reader;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_admin') THEN
        CREATE ROLE recsys_admin NOLOGIN IN ROLE recsys_trainer;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_pseudonymizer') THEN
        CREATE ROLE recsys_pseudonymizer NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA recsys TO PUBLIC;

------------------------------------------------------------------------------
-- The model store: one row per named model. pg_dump keeps its rows.
------------------------------------------------------------------------------
-- Every write of a model takes a new version: the serving cache is keyed on
-- it, so a reader never serves a model its snapshot cannot see.
CREATE SEQUENCE recsys_model_versions;
SELECT pg_catalog.pg_extension_config_dump('recsys_model_versions', '');
CREATE TABLE recsys_models (
    name           text PRIMARY KEY CHECK (pg_catalog.length(name) > 0),
    owner          name NOT NULL DEFAULT CURRENT_USER,
    version        bigint NOT NULL DEFAULT pg_catalog.nextval('recsys.recsys_model_versions'),
    algorithm      text NOT NULL,
    params         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    n_users        bigint NOT NULL,
    n_items        bigint NOT NULL,
    n_interactions bigint NOT NULL,
    train_seconds  double precision,
    metrics        jsonb,
    model_bytes    integer NOT NULL,
    model          bytea NOT NULL
);
ALTER TABLE recsys_models ALTER COLUMN model SET STORAGE EXTERNAL;  -- already compact: skip compression
SELECT pg_catalog.pg_extension_config_dump('recsys_models', '');
COMMENT ON TABLE recsys_models IS 'Trained recsys models; written by train() and save_model().';

-- Whether the current role may replace or drop a model of `owner`.
CREATE FUNCTION recsys_may_change(owner name) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT pg_has_role(CURRENT_USER, 'recsys_admin', 'MEMBER')
        OR (EXISTS (SELECT FROM pg_roles r WHERE r.rolname = owner) AND pg_has_role(CURRENT_USER, owner, 'MEMBER'))
$$;
COMMENT ON FUNCTION recsys_may_change(name) IS
    'True if the current role owns (is a member of) the model owner or is a member of recsys_admin.';

-- Ownership is enforced by the table itself, whichever way a row is written.
-- The table owner (the installing superuser) is not bound by the policies.
ALTER TABLE recsys_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_models ON recsys_models FOR SELECT USING (true);
CREATE POLICY add_own_models ON recsys_models FOR INSERT WITH CHECK (owner = CURRENT_USER);
CREATE POLICY change_own_models ON recsys_models FOR UPDATE
    USING (recsys.recsys_may_change(owner)) WITH CHECK (recsys.recsys_may_change(owner));
CREATE POLICY drop_own_models ON recsys_models FOR DELETE USING (recsys.recsys_may_change(owner));

-- Readers see everything but the model bytes, which embed every user's
-- purchase history; serving reads them on the reader's behalf after checking
-- that the reader may see the row.
GRANT SELECT (name, owner, version, algorithm, params, created_at, n_users, n_items, n_interactions, train_seconds,
              metrics, model_bytes) ON recsys_models TO recsys_reader;
GRANT INSERT, UPDATE, DELETE ON recsys_models TO recsys_trainer;
GRANT USAGE ON SEQUENCE recsys_model_versions TO recsys_trainer;
GRANT SELECT ON recsys_models TO recsys_admin;

-- Fails unless the current role may store a model under `name`: checked
-- before any training starts.
CREATE FUNCTION recsys_check_can_store(name text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    current_owner name;
BEGIN
    IF name IS NULL OR length(name) = 0 THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name to store the model under, e.g. train(''shop'', ...).';
    END IF;
    IF NOT (has_table_privilege('recsys.recsys_models', 'INSERT') AND has_table_privilege('recsys.recsys_models', 'UPDATE')
            AND has_sequence_privilege('recsys.recsys_model_versions', 'USAGE')) THEN
        RAISE EXCEPTION 'permission denied to store models: role "%" may not write to recsys.recsys_models', CURRENT_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Ask an administrator to GRANT recsys_trainer TO ' || quote_ident(CURRENT_USER) || ';';
    END IF;
    SELECT m.owner INTO current_owner FROM recsys.recsys_models m WHERE m.name = recsys_check_can_store.name;
    IF FOUND AND NOT recsys.recsys_may_change(current_owner) THEN
        RAISE EXCEPTION 'model "%" belongs to role "%"', name, current_owner USING ERRCODE = 'insufficient_privilege',
            HINT = format('Only members of %s or of recsys_admin may replace or drop it; choose another name.',
                          quote_ident(current_owner));
    END IF;
END
$$;
COMMENT ON FUNCTION recsys_check_can_store(text) IS
    'Raises an error unless the current role may store a model under this name (used by train and tune).';

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
-- Storing, describing and dropping models
------------------------------------------------------------------------------
CREATE FUNCTION describe_model(model bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION describe_model(bytea) IS 'Validates a model bytea and describes it as jsonb.';

CREATE FUNCTION recsys_describe_stored(name text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_stored' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION recsys_describe_stored(text) IS 'Describes a stored model the current role may read (used by describe_model).';

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

CREATE FUNCTION save_model(name text, model bytea, train_seconds double precision DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
#variable_conflict use_column
DECLARE
    info jsonb;
BEGIN
    PERFORM recsys.recsys_check_can_store(save_model.name);
    IF save_model.model IS NULL THEN
        RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Did the training query return no rows?';
    END IF;
    info := recsys.describe_model(save_model.model);
    -- A replaced model keeps its owner and takes a new version. (Not INSERT
    -- ... ON CONFLICT: under row-level security that needs SELECT on the
    -- model bytes, which trainers do not have.)
    LOOP
        UPDATE recsys.recsys_models m
           SET version = nextval('recsys.recsys_model_versions'), algorithm = info->>'algorithm',
               params = info->'params', created_at = clock_timestamp(), n_users = (info->>'users')::bigint,
               n_items = (info->>'items')::bigint, n_interactions = (info->>'interactions')::bigint,
               train_seconds = save_model.train_seconds, metrics = NULL, model_bytes = octet_length(save_model.model),
               model = save_model.model
         WHERE m.name = save_model.name;
        EXIT WHEN FOUND;
        BEGIN
            INSERT INTO recsys.recsys_models
                   (name, algorithm, params, n_users, n_items, n_interactions, train_seconds, model_bytes, model)
            VALUES (save_model.name, info->>'algorithm', info->'params', (info->>'users')::bigint,
                    (info->>'items')::bigint, (info->>'interactions')::bigint, save_model.train_seconds,
                    octet_length(save_model.model), save_model.model);
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- stored concurrently under the same name: replace it if ours to change
            PERFORM recsys.recsys_check_can_store(save_model.name);
        END;
    END LOOP;
    RETURN jsonb_build_object('name', save_model.name, 'train_seconds', save_model.train_seconds) || info;
END
$$;
COMMENT ON FUNCTION save_model(text, bytea, double precision) IS
    'Stores a model bytea (e.g. from recsys_train) under a name, replacing any model of that name the caller may change.';

-- train() runs the caller's query with the caller's search_path; all else
-- with the pinned one.
CREATE FUNCTION recsys_train_with_path(name text, algorithm text, query text, params jsonb, search_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    weight text;
    sql text;
    params_ constant jsonb := coalesce(params, '{}');
    started timestamptz;
    trained bytea;
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
    sql := format('SELECT recsys.recsys_train($1, q.user_id, q.item_id, %s, $2) FROM (%s) AS q', weight, source);
    started := clock_timestamp();
    -- Only the query itself runs with the caller's path: every name in the
    -- wrapping and in the two statements around it is qualified.
    PERFORM pg_catalog.set_config('search_path', recsys_train_with_path.search_path, true);
    EXECUTE sql INTO trained USING algorithm, params_;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, recsys, pg_temp', true);
    IF trained IS NULL THEN
        RAISE EXCEPTION 'the training query returned no rows' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Check the query: it must return at least one (user_id, item_id) row.';
    END IF;
    RETURN recsys.save_model(name, trained, extract(epoch FROM clock_timestamp() - started)::float8);
END
$$;
COMMENT ON FUNCTION recsys_train_with_path(text, text, text, jsonb, text) IS
    'train() with the search_path to parse the caller''s query with.';

CREATE FUNCTION train(name text, algorithm text, query text, params jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$ SELECT recsys.recsys_train_with_path($1, $2, $3, $4, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION train(text, text, text, jsonb) IS
    'Trains a model over a query returning user_id, item_id [, weight] and stores it under a name.';

CREATE FUNCTION describe_model(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    result jsonb;
BEGIN
    IF describe_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a stored model; list them with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    SELECT jsonb_build_object('name', m.name, 'owner', m.owner, 'created_at', m.created_at,
                              'train_seconds', m.train_seconds, 'metrics', m.metrics)
      INTO result FROM recsys.recsys_models m WHERE m.name = describe_model.name;
    IF result IS NULL THEN
        RAISE EXCEPTION 'model "%" does not exist', describe_model.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    RETURN result || recsys.recsys_describe_stored(describe_model.name);
END
$$;
COMMENT ON FUNCTION describe_model(text) IS 'Describes a stored model as jsonb.';

CREATE FUNCTION drop_model(name text, if_exists boolean DEFAULT false) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    current_owner name;
BEGIN
    IF drop_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a stored model; list them with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    SELECT m.owner INTO current_owner FROM recsys.recsys_models m WHERE m.name = drop_model.name;
    IF FOUND AND NOT recsys.recsys_may_change(current_owner) THEN
        RAISE EXCEPTION 'model "%" belongs to role "%"', drop_model.name, current_owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Only members of %s or of recsys_admin may drop it.', quote_ident(current_owner));
    END IF;
    DELETE FROM recsys.recsys_models m WHERE m.name = drop_model.name;
    IF NOT FOUND AND NOT coalesce(drop_model.if_exists, false) THEN
        RAISE EXCEPTION 'model "%" does not exist', drop_model.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass if_exists => true to ignore a missing model.';
    END IF;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION drop_model(text, boolean) IS 'Deletes a stored model the caller may change; true if one was deleted.';

CREATE FUNCTION recsys_list_models()
RETURNS TABLE (name text, algorithm text, params jsonb, created_at timestamptz, n_users bigint, n_items bigint,
               n_interactions bigint, train_seconds double precision, model_bytes integer, metrics jsonb, owner name)
LANGUAGE sql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT m.name, m.algorithm, m.params, m.created_at, m.n_users, m.n_items, m.n_interactions, m.train_seconds,
           m.model_bytes, m.metrics, m.owner
      FROM recsys.recsys_models m ORDER BY m.name
$$;
COMMENT ON FUNCTION recsys_list_models() IS 'The stored models, without their bytes.';

------------------------------------------------------------------------------
-- Serving
------------------------------------------------------------------------------
CREATE FUNCTION recommend(user_id bigint, k integer, model text DEFAULT NULL, exclude_seen boolean DEFAULT true,
                          candidates text[] DEFAULT NULL, exclude text[] DEFAULT NULL)
RETURNS TABLE (item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_bigint' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
CREATE FUNCTION recommend(user_id text, k integer, model text DEFAULT NULL, exclude_seen boolean DEFAULT true,
                          candidates text[] DEFAULT NULL, exclude text[] DEFAULT NULL)
RETURNS TABLE (item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_text' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION recommend(bigint, integer, text, boolean, text[], text[]) IS
    'Top-k items for a user; unknown users get the most popular items (source = popularity).';
COMMENT ON FUNCTION recommend(text, integer, text, boolean, text[], text[]) IS
    'Top-k items for a user with a text id; unknown users get the most popular items (source = popularity).';

CREATE FUNCTION recommend_for_items(items text[], k integer, model text DEFAULT NULL, weights float8[] DEFAULT NULL,
                                    exclude_basket boolean DEFAULT true, candidates text[] DEFAULT NULL,
                                    exclude text[] DEFAULT NULL)
RETURNS TABLE (item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION recommend_for_items(text[], integer, text, float8[], boolean, text[], text[]) IS
    'Top-k items for an anonymous basket of items (unknown items are ignored with a notice).';

CREATE FUNCTION similar_items(item_id text, k integer, model text DEFAULT NULL)
RETURNS TABLE (item_id text, score real, rank integer)
    AS 'MODULE_PATHNAME', 'recsys_similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
CREATE FUNCTION similar_items(item_id bigint, k integer, model text DEFAULT NULL)
RETURNS TABLE (item_id text, score real, rank integer)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 10 SET search_path = pg_catalog, recsys, pg_temp
    AS $$ SELECT * FROM recsys.similar_items($1::text, $2, $3) $$;
COMMENT ON FUNCTION similar_items(text, integer, text) IS 'The k items most similar to an item.';
COMMENT ON FUNCTION similar_items(bigint, integer, text) IS 'The k items most similar to an item with an integer id.';

CREATE FUNCTION explain_recommendation(user_id bigint, item_id text, model text DEFAULT NULL)
RETURNS TABLE (item_id text, contribution real, rank integer)
    AS 'MODULE_PATHNAME', 'recsys_explain_bigint' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
CREATE FUNCTION explain_recommendation(user_id text, item_id text, model text DEFAULT NULL)
RETURNS TABLE (item_id text, contribution real, rank integer)
    AS 'MODULE_PATHNAME', 'recsys_explain_text' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION explain_recommendation(bigint, text, text) IS
    'The user''s own items ranked by their contribution to an item''s score.';
COMMENT ON FUNCTION explain_recommendation(text, text, text) IS
    'The user''s own items ranked by their contribution to an item''s score (text user ids).';

CREATE FUNCTION recsys_cache_stats() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_cache_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_cache_stats() IS
    'Models decoded and cache hits in this backend (a decode happens once per model and retrain).';

------------------------------------------------------------------------------
-- Normalisation: scalers and interaction weights
------------------------------------------------------------------------------
CREATE FUNCTION recsys_fit_scaler_transition(internal, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_transition(internal, float8, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE fit_scaler(value float8) (
    SFUNC = recsys_fit_scaler_transition, STYPE = internal, FINALFUNC = recsys_fit_scaler_final,
    COMBINEFUNC = recsys_fit_scaler_combine, SERIALFUNC = recsys_fit_scaler_serialize,
    DESERIALFUNC = recsys_fit_scaler_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE fit_scaler(value float8, method text) (
    SFUNC = recsys_fit_scaler_transition, STYPE = internal, FINALFUNC = recsys_fit_scaler_final,
    COMBINEFUNC = recsys_fit_scaler_combine, SERIALFUNC = recsys_fit_scaler_serialize,
    DESERIALFUNC = recsys_fit_scaler_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE fit_scaler(float8) IS 'Fits a z-score scaler (mean, population stddev); returns its parameters.';
COMMENT ON AGGREGATE fit_scaler(float8, text) IS
    'Fits a minmax, zscore or robust (median, IQR) scaler; returns its parameters as jsonb.';

CREATE FUNCTION scale(value float8, params jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_scale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION scale(float8, jsonb) IS
    'Applies a scaler fitted by fit_scaler: (value - center) / spread; 0 for a constant column.';

CREATE FUNCTION log_weight(quantity float8, alpha float8 DEFAULT 1, eps float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_log_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION log_weight(float8, float8, float8) IS 'Log-scaled quantity: 1 + alpha * ln(1 + quantity / eps).';
CREATE FUNCTION decay_weight(weight float8, event_time timestamptz, reference_time timestamptz, half_life interval)
RETURNS float8 AS 'MODULE_PATHNAME', 'recsys_decay_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION decay_weight(float8, timestamptz, timestamptz, interval) IS
    'Time-decayed weight: weight * 2^(-age / half_life), age = reference_time - event_time (future events: age 0).';
CREATE FUNCTION clip_weight(weight float8, cap float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_clip_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION clip_weight(float8, float8) IS 'least(weight, cap), with the arguments checked.';

------------------------------------------------------------------------------
-- Privacy: pseudonyms and masking
------------------------------------------------------------------------------
CREATE FUNCTION pseudonymize(id bigint, key text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize(id text, key text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize_hex(id bigint, key text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize_hex' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize_hex(id text, key text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize_hex' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION pseudonymize(bigint, text) IS
    'HMAC-SHA-256 pseudonym of an id as a positive bigint; the key defaults to recsys.pseudonymize_key.';
COMMENT ON FUNCTION pseudonymize(text, text) IS
    'HMAC-SHA-256 pseudonym of an id as a positive bigint; the key defaults to recsys.pseudonymize_key.';
COMMENT ON FUNCTION pseudonymize_hex(bigint, text) IS 'HMAC-SHA-256 pseudonym of an id as 64 hex digits.';
COMMENT ON FUNCTION pseudonymize_hex(text, text) IS 'HMAC-SHA-256 pseudonym of an id as 64 hex digits.';

CREATE FUNCTION mask_email(email text) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_phone(phone text, keep_last integer DEFAULT 4) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_name(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_text(value text, keep_first integer DEFAULT 1, keep_last integer DEFAULT 0, mask text DEFAULT '*')
RETURNS text AS 'MODULE_PATHNAME', 'recsys_mask_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mask_email(text) IS 'j.doe@example.com -> j****@example.com (UTF-8 safe).';
COMMENT ON FUNCTION mask_phone(text, integer) IS 'Masks all digits but the last keep_last, keeping separators.';
COMMENT ON FUNCTION mask_name(text) IS 'Keeps the first character of each word: Zoë Ødegård -> Z** Ø******.';
COMMENT ON FUNCTION mask_text(text, integer, integer, text) IS
    'Keeps the first keep_first and last keep_last characters, masks the rest (all of it if too short).';

------------------------------------------------------------------------------
-- Splits, evaluation and batch output
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

CREATE FUNCTION recsys_evaluate(model text, test_query text, k integer, search_path text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_evaluate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_evaluate(text, text, integer, text) IS
    'Ranking metrics of a model on test rows (the query parsed with the given search_path), as jsonb.';

CREATE FUNCTION recsys_evaluate_with_path(model text, test_query text, k integer, search_path text)
RETURNS TABLE (metric text, value double precision) LANGUAGE plpgsql
SET search_path = pg_catalog, recsys, pg_temp AS $$
#variable_conflict use_column
DECLARE
    result jsonb;
BEGIN
    result := recsys.recsys_evaluate(model, recsys.recsys_query_body(test_query), k, search_path);
    -- Stored with the model when the caller may change it.
    IF has_table_privilege('recsys.recsys_models', 'UPDATE') THEN
        UPDATE recsys.recsys_models m SET metrics = result
         WHERE m.name = recsys_evaluate_with_path.model AND recsys.recsys_may_change(m.owner);
    END IF;
    RETURN QUERY
    SELECT x.metric || '@' || recsys_evaluate_with_path.k, (result -> 'all' ->> x.metric)::double precision
      FROM unnest(ARRAY['precision', 'recall', 'ndcg', 'map', 'hit_rate', 'coverage']) WITH ORDINALITY AS x(metric, i)
    UNION ALL SELECT 'users', (result -> 'all' ->> 'users')::double precision
    UNION ALL SELECT 'unknown_users', (result -> 'unknown' ->> 'users')::double precision;
END
$$;
COMMENT ON FUNCTION recsys_evaluate_with_path(text, text, integer, text) IS
    'evaluate() with the search_path to parse the caller''s query with.';

CREATE FUNCTION evaluate(model text, test_query text, k integer DEFAULT 10)
RETURNS TABLE (metric text, value double precision) LANGUAGE sql
    AS $$ SELECT * FROM recsys.recsys_evaluate_with_path($1, $2, $3, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION evaluate(text, text, integer) IS
    'precision, recall, NDCG, MAP, hit rate and coverage at k of a model on test rows; stored in recsys_models.metrics when the caller may change the model.';

CREATE FUNCTION recommend_all(k integer, model text DEFAULT NULL, users text[] DEFAULT NULL,
                              exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id text, item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_all' LANGUAGE C STABLE PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION recommend_all(integer, text, text[], boolean) IS
    'Every user''s (or the given users'') top-k, scored in blocks: for nightly batch output and BI.';

------------------------------------------------------------------------------
-- Self-tuning: tune() picks an algorithm and its parameters on a validation
-- split carved out of the caller's rows, then retrains the winner on all rows.
-- Written in PL/pgSQL on top of train(), recsys_evaluate(), split_per_user()
-- and drop_model(): the search is orchestration, not maths, so it belongs
-- next to the SQL surface rather than in the core.
------------------------------------------------------------------------------

-- The search space used when the caller gives none. Lists are grids; a scalar
-- is a fixed value. Ranges that matter by orders of magnitude (regularisation,
-- lambda, alpha) are log-spaced; the coarse-to-fine step fills in between.
CREATE FUNCTION recsys_tune_default_space() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT jsonb_build_object(
        -- one candidate: the floor every personalised model must beat
        'popularity', jsonb_build_object(),
        -- few neighbours win on sparse wholesale data, many on dense
        -- group structure, so the grid spans both
        'itemknn', jsonb_build_object('neighbours', jsonb_build_array(5, 10, 20, 50, 100),
                                      'weighting', jsonb_build_array('bm25', 'tfidf', 'none')),
        'ease', jsonb_build_object('lambda', jsonb_build_array(10, 30, 100, 300, 1000, 3000)),
        -- iterations fixed: more rarely changes the ranking and only costs time
        'als', jsonb_build_object('factors', jsonb_build_array(32, 64, 128, 256),
                                  'regularization', jsonb_build_array(0.01, 0.1, 1, 10, 100),
                                  'alpha', jsonb_build_array(0.1, 1, 10),
                                  'iterations', 15),
        -- tried only when asked for (algorithms => or search_space =>): slow
        -- and, on the data measured, never the best
        'bpr', jsonb_build_object('factors', jsonb_build_array(32, 64, 128),
                                  'learning_rate', jsonb_build_array(0.01, 0.05),
                                  'regularization', jsonb_build_array(0.001, 0.01)))
$$;
COMMENT ON FUNCTION recsys_tune_default_space() IS
    'The search space tune() uses by default, per algorithm: parameter -> list of values (or one fixed value).';

-- Merges the caller's overrides into the default space (per parameter, so
-- {"als": {"factors": [64]}} keeps the default regularisation grid; a null
-- value removes a parameter, leaving the algorithm's own default) and checks
-- the shape, so that mistakes fail before any training starts.
CREATE FUNCTION recsys_tune_search_space(algorithms text[], overrides jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    defaults constant jsonb := recsys.recsys_tune_default_space();
    space jsonb := '{}';
    algo text;
    merged jsonb;
    param text;
    value jsonb;
BEGIN
    IF overrides IS NOT NULL AND jsonb_typeof(overrides) <> 'object' THEN
        RAISE EXCEPTION 'search_space must be a jsonb object, got %', jsonb_typeof(overrides)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Map algorithms to parameter lists, e.g. ''{"ease": {"lambda": [50, 100, 200]}}''.';
    END IF;
    FOR algo IN SELECT jsonb_object_keys(coalesce(overrides, '{}')) LOOP
        IF NOT defaults ? algo THEN
            RAISE EXCEPTION 'unknown algorithm "%" in search_space', algo USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Known algorithms: popularity, itemknn, ease, als, bpr.';
        END IF;
        IF NOT algo = ANY (algorithms) THEN
            RAISE EXCEPTION 'search_space names "%", which is not among the algorithms to try', algo
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Add it to algorithms => (now %s) or remove it from search_space.',
                                    array_to_string(algorithms, ', '));
        END IF;
        IF jsonb_typeof(overrides -> algo) <> 'object' THEN
            RAISE EXCEPTION 'search_space for "%" must be a jsonb object, got %', algo, jsonb_typeof(overrides -> algo)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Map parameters to lists of values, e.g. ''{"als": {"factors": [64, 128]}}''.';
        END IF;
    END LOOP;
    FOREACH algo IN ARRAY algorithms LOOP
        merged := jsonb_strip_nulls(coalesce(defaults -> algo, '{}') || coalesce(overrides -> algo, '{}'));
        FOR param, value IN SELECT e.key, e.value FROM jsonb_each(merged) e LOOP
            IF NOT (jsonb_typeof(value) IN ('number', 'string', 'boolean')
                    OR (jsonb_typeof(value) = 'array' AND jsonb_array_length(value) > 0
                        AND NOT EXISTS (SELECT FROM jsonb_array_elements(value) v
                                        WHERE jsonb_typeof(v) NOT IN ('number', 'string', 'boolean')))) THEN
                RAISE EXCEPTION 'search_space for "%": parameter "%" must be a value or a non-empty array of values, got %',
                                algo, param, value
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('e.g. {"%s": {"%s": [1, 2, 3]}}; null removes the parameter from the search.',
                                        algo, param);
            END IF;
        END LOOP;
        space := space || jsonb_build_object(algo, merged);
    END LOOP;
    RETURN space;
END
$$;
COMMENT ON FUNCTION recsys_tune_search_space(text[], jsonb) IS
    'The search space of tune(): the defaults for the given algorithms merged with (and checked against) overrides.';

-- Every combination of one algorithm's parameter values, in a fixed order
-- (parameters by name, values as listed), so grid search is reproducible.
CREATE FUNCTION recsys_tune_grid(space jsonb) RETURNS SETOF jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    points jsonb[] := ARRAY['{}'::jsonb];
    expanded jsonb[];
    param text;
    values_ jsonb;
    pt jsonb;
    v jsonb;
BEGIN
    FOR param, values_ IN SELECT e.key, e.value FROM jsonb_each(space) e ORDER BY e.key LOOP
        IF jsonb_typeof(values_) <> 'array' THEN
            values_ := jsonb_build_array(values_);
        END IF;
        expanded := ARRAY[]::jsonb[];
        FOREACH pt IN ARRAY points LOOP
            FOR v IN SELECT x FROM jsonb_array_elements(values_) WITH ORDINALITY AS a(x, n) ORDER BY n LOOP
                expanded := expanded || (pt || jsonb_build_object(param, v));
            END LOOP;
        END LOOP;
        points := expanded;
    END LOOP;
    RETURN QUERY SELECT p FROM unnest(points) WITH ORDINALITY AS u(p, n) ORDER BY n;
END
$$;
COMMENT ON FUNCTION recsys_tune_grid(jsonb) IS 'All parameter combinations of one algorithm''s search space, in a fixed order.';

-- The fine step: for each numeric parameter searched over two or more values,
-- the points halfway between the winner's value and its grid neighbours (half
-- a step beyond it when the winner sits at the edge of the grid). "Halfway"
-- is geometric for values that span a factor of 3 or more (the log-spaced
-- ones) and arithmetic otherwise; integer parameters stay integers.
CREATE FUNCTION recsys_tune_refine(best jsonb, space jsonb) RETURNS SETOF jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    param text;
    values_ jsonb;
    grid numeric[];
    v numeric;
    lower_ numeric;
    upper_ numeric;
    integral boolean;
    candidate numeric;
    other numeric;
    step_beyond boolean;
BEGIN
    FOR param, values_ IN SELECT e.key, e.value FROM jsonb_each(space) e ORDER BY e.key LOOP
        CONTINUE WHEN jsonb_typeof(values_) <> 'array' OR jsonb_typeof(best -> param) IS DISTINCT FROM 'number';
        SELECT array_agg(DISTINCT (x #>> '{}')::numeric ORDER BY (x #>> '{}')::numeric) INTO grid
          FROM jsonb_array_elements(values_) x WHERE jsonb_typeof(x) = 'number';
        CONTINUE WHEN coalesce(cardinality(grid), 0) < 2;
        v := (best ->> param)::numeric;
        integral := (SELECT bool_and(g = trunc(g)) FROM unnest(grid) g);
        lower_ := (SELECT max(g) FROM unnest(grid) g WHERE g < v);
        upper_ := (SELECT min(g) FROM unnest(grid) g WHERE g > v);
        FOR other, step_beyond IN SELECT * FROM (VALUES (lower_, false), (upper_, false),
                                                        (CASE WHEN lower_ IS NULL THEN upper_ END, true),
                                                        (CASE WHEN upper_ IS NULL THEN lower_ END, true)) AS o(x, b)
                                   WHERE o.x IS NOT NULL LOOP
            IF v > 0 AND other > 0 AND greatest(v, other) / least(v, other) >= 3 THEN
                candidate := CASE WHEN step_beyond THEN v * sqrt(v / other) ELSE sqrt(v * other) END;
            ELSE
                candidate := CASE WHEN step_beyond THEN v + (v - other) / 2 ELSE (v + other) / 2 END;
            END IF;
            -- Three significant digits: enough for a search this coarse, and
            -- the params read well in the results.
            candidate := CASE WHEN integral THEN round(candidate)
                              WHEN candidate > 0 THEN round(candidate, greatest(0, 2 - floor(log(candidate))::int))
                              ELSE candidate END;
            CONTINUE WHEN candidate <= 0 OR candidate = v OR candidate = ANY (grid);
            RETURN NEXT best || jsonb_build_object(param, candidate);
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION recsys_tune_refine(jsonb, jsonb) IS
    'Parameter sets around the best one: its numeric values moved halfway towards their grid neighbours.';

-- Why a candidate cannot fit in recsys.memory_limit, or NULL. The core would
-- refuse it too, but only after reading the rows; this decides up front.
CREATE FUNCTION recsys_tune_too_big(algorithm text, params jsonb, n_users bigint, n_items bigint) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    memory_limit constant bigint := least(pg_size_bytes(current_setting('recsys.memory_limit')),
                                          pg_size_bytes(current_setting('recsys.max_memory')));
    m bigint;
    f bigint;
    needed numeric;
    how text;
BEGIN
    IF algorithm = 'ease' THEN
        -- two dense item x item matrices of doubles
        m := least(n_items, coalesce((params ->> 'max_items')::bigint, n_items));
        needed := 2 * m::numeric * m * 8;
        how := format('2 x %s^2 x 8 bytes', m);
    ELSIF algorithm IN ('als', 'bpr') THEN
        -- user and item factors, plus the solver's padded copy for ALS
        f := coalesce((params ->> 'factors')::bigint, 64);
        needed := 2 * (n_users + n_items)::numeric * f * 4;
        how := format('2 x (%s users + %s items) x %s factors x 4 bytes', n_users, n_items, f);
    ELSE
        RETURN NULL;
    END IF;
    IF needed <= memory_limit THEN
        RETURN NULL;
    END IF;
    RETURN format('needs %s = %s, more than recsys.memory_limit (%s)', how, pg_size_pretty(needed),
                  current_setting('recsys.memory_limit'));
END
$$;
COMMENT ON FUNCTION recsys_tune_too_big(text, jsonb, bigint, bigint) IS
    'Why a tune() candidate would not fit in recsys.memory_limit, or NULL if it fits.';

-- The core's message if a parameter set is invalid, or NULL.
CREATE FUNCTION recsys_tune_params_error(algorithm text, params jsonb) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    PERFORM recsys.recsys_check_params(algorithm, params);
    RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN SQLERRM;
END
$$;
COMMENT ON FUNCTION recsys_tune_params_error(text, jsonb) IS
    'The error an algorithm gives for a parameter set, or NULL if it accepts it (used by tune).';

-- tune(name, query, ...): one row per candidate trained, the stored winner
-- marked. The flow: check the arguments and the search space (cheaply, before
-- any real training); split the query's rows per user (seeded); train and
-- score candidates under a scratch name (coarse grid, then a fine step around
-- the best, then the rest of the grid) until the grid, max_candidates or the
-- budget runs out; retrain the winner on all rows under `name`. Scratch rows
-- and the split table are removed at the end, and an error anywhere rolls
-- them back with the statement. The caller needs INSERT, UPDATE and DELETE
-- on recsys_models, as for train() and drop_model().
CREATE FUNCTION recsys_tune_with_path(name text, query text, algorithms text[], metric text, budget interval,
                                      max_candidates integer, search_space jsonb, search text, seed bigint,
                                      validation_fraction float8, min_improvement float8, search_path text)
RETURNS TABLE (candidate integer, algorithm text, params jsonb, score double precision, train_s double precision,
               chosen boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    known constant text[] := ARRAY['popularity', 'itemknn', 'ease', 'als', 'bpr'];
    -- One scratch name per backend: concurrent tunes of the same name do not
    -- collide on the model table's key, and train() replaces it per candidate.
    scratch constant text := format('%s (tune candidate, backend %s)', recsys_tune_with_path.name, pg_backend_pid());
    train_query text;
    test_query constant text := 'SELECT user_id, item_id FROM pg_temp.recsys_tune_rows WHERE is_test';
    started constant timestamptz := clock_timestamp();
    source constant text := recsys.recsys_query_body(recsys_tune_with_path.query);
    caller_path constant text := recsys_tune_with_path.search_path;
    sql text;
    has_weight boolean;
    algos text[];
    space jsonb;
    metric_name text;
    k integer;
    n_users bigint;
    n_items bigint;
    n_test bigint;
    queue jsonb[];
    coarse_queue jsonb[];
    coarse_done integer;
    coarse_limit integer;
    i integer;
    phase text;
    c jsonb;
    bad text;
    tried integer := 0;
    planned integer;
    results jsonb := '[]';
    skipped jsonb := '[]';
    best jsonb;
    best_eval jsonb;
    floor_ jsonb;
    floor_eval jsonb;
    stopped_by text := 'search space exhausted';
    t0 timestamptz;
    info jsonb;
    eval jsonb;
    cand_score double precision;
    eval_s double precision;
    trained boolean;
BEGIN
    ---------------------------------------------------------------- arguments
    IF recsys_tune_with_path.name IS NULL OR length(recsys_tune_with_path.name) = 0 THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name to store the chosen model under, e.g. tune(''shop'', ...).';
    END IF;
    IF recsys_tune_with_path.query IS NULL THEN
        RAISE EXCEPTION 'query must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass a SELECT returning user_id, item_id and optionally weight.';
    END IF;
    PERFORM recsys.recsys_check_can_store(recsys_tune_with_path.name);
    IF recsys_tune_with_path.algorithms IS NOT NULL THEN
        IF cardinality(recsys_tune_with_path.algorithms) = 0 OR array_position(recsys_tune_with_path.algorithms, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'algorithms must be a non-empty array without NULLs' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'e.g. algorithms => ARRAY[''itemknn'', ''ease'', ''als''], or leave it out to try all that fit.';
        END IF;
        SELECT a INTO bad FROM unnest(recsys_tune_with_path.algorithms) a WHERE NOT a = ANY (known) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'unknown algorithm "%"', bad USING ERRCODE = 'invalid_parameter_value',
                HINT = format('Known algorithms: %s.', array_to_string(known, ', '));
        END IF;
    END IF;
    -- popularity is always tried, first: the floor a personalised model must
    -- beat, and on ties (ties go to the earlier candidate) the simplest wins.
    -- Without a list: every algorithm but bpr, plus any the search space names.
    SELECT array_agg(a ORDER BY array_position(known, a)) INTO algos
      FROM unnest(known) a
     WHERE a = 'popularity'
        OR (recsys_tune_with_path.algorithms IS NULL AND a <> 'bpr')
        OR a = ANY (recsys_tune_with_path.algorithms)
        OR (recsys_tune_with_path.algorithms IS NULL AND jsonb_typeof(recsys_tune_with_path.search_space) = 'object' AND recsys_tune_with_path.search_space ? a);
    space := recsys.recsys_tune_search_space(
        CASE WHEN recsys_tune_with_path.algorithms IS NULL THEN algos ELSE array_append(recsys_tune_with_path.algorithms, 'popularity') END,
        recsys_tune_with_path.search_space);

    metric_name := substring(lower(recsys_tune_with_path.metric) FROM '^(precision|recall|ndcg|map|hit_rate)@[0-9]{1,4}$');
    k := substring(recsys_tune_with_path.metric FROM '@([0-9]{1,4})$')::integer;
    IF metric_name IS NULL OR k < 1 THEN
        RAISE EXCEPTION 'unknown metric "%"', recsys_tune_with_path.metric USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use precision, recall, ndcg, map or hit_rate at a cut-off k, e.g. ''ndcg@10''.';
    END IF;
    IF recsys_tune_with_path.budget IS NOT NULL AND recsys_tune_with_path.budget <= interval '0' THEN
        RAISE EXCEPTION 'budget must be positive, got %', recsys_tune_with_path.budget USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. budget => interval ''5 minutes''; NULL means no time limit (use max_candidates).';
    END IF;
    IF recsys_tune_with_path.max_candidates IS NOT NULL AND recsys_tune_with_path.max_candidates < 1 THEN
        RAISE EXCEPTION 'max_candidates must be at least 1, got %', recsys_tune_with_path.max_candidates
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. max_candidates => 20; NULL means no limit.';
    END IF;
    IF recsys_tune_with_path.search IS NULL OR recsys_tune_with_path.search NOT IN ('random', 'grid') THEN
        RAISE EXCEPTION 'search must be ''random'' or ''grid'', got %', coalesce(quote_literal(recsys_tune_with_path.search), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
            HINT = '''random'' tries the grid in an order drawn from the seed; ''grid'' in the listed order.';
    END IF;
    IF recsys_tune_with_path.seed IS NULL OR recsys_tune_with_path.seed < 0 THEN
        RAISE EXCEPTION 'seed must be a non-negative integer' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The seed fixes the validation split, the search order and the models'' initialisation.';
    END IF;
    IF recsys_tune_with_path.min_improvement IS NULL OR NOT (recsys_tune_with_path.min_improvement >= 0)
       OR recsys_tune_with_path.min_improvement IN ('NaN', 'Infinity') THEN
        RAISE EXCEPTION 'min_improvement must be 0 or more, got %', recsys_tune_with_path.min_improvement
            USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. 0.02: a personalised model must beat popularity by 2% to be chosen; 0 takes the top score.';
    END IF;
    IF recsys_tune_with_path.validation_fraction IS NULL OR NOT (recsys_tune_with_path.validation_fraction > 0 AND recsys_tune_with_path.validation_fraction < 1) THEN
        RAISE EXCEPTION 'validation_fraction must be between 0 and 1, got %', recsys_tune_with_path.validation_fraction
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. 0.2 holds out a fifth of each user''s items.';
    END IF;

    -- The search trains on the split's text ids, the winner on the query
    -- itself: train one of its rows now, so that a column type the training
    -- aggregate refuses fails here rather than after the whole search.
    has_weight := recsys.recsys_query_has_weight(source, caller_path);
    sql := format('SELECT recsys.recsys_train(''popularity'', q.user_id, q.item_id%s) '
                  'FROM (SELECT * FROM (%s) AS s LIMIT 1) AS q',
                  CASE WHEN has_weight THEN ', q.weight::pg_catalog.float8' ELSE '' END, source);
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    EXECUTE sql;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, recsys, pg_temp', true);

    ------------------------------------------------------------- candidates
    -- Every grid point, each algorithm's in its own order (random: by a hash of
    -- the seed and the point, the same on every machine), then interleaved
    -- round-robin so that a budget cut still leaves each algorithm tried.
    -- ALS and BPR get the seed too, so their initialisation is reproducible.
    SELECT array_agg(jsonb_build_object('algorithm', g.algo, 'params', g.params) ORDER BY g.algo <> 'popularity', g.r, g.o)
      INTO queue
      FROM (SELECT a.algo, a.o,
                   CASE WHEN a.algo IN ('als', 'bpr') AND NOT p.params ? 'seed'
                        THEN p.params || jsonb_build_object('seed', recsys_tune_with_path.seed) ELSE p.params END AS params,
                   row_number() OVER (PARTITION BY a.algo
                                      ORDER BY CASE WHEN recsys_tune_with_path.search = 'random'
                                                    THEN md5(format('%s/%s/%s', recsys_tune_with_path.seed, a.algo, p.params)) END,
                                               p.n) AS r
              FROM unnest(algos) WITH ORDINALITY AS a(algo, o)
                   CROSS JOIN LATERAL recsys.recsys_tune_grid(space -> a.algo) WITH ORDINALITY AS p(params, n)) g;

    -- A typo in a search space should fail now, not after minutes of search.
    FOREACH c IN ARRAY queue LOOP
        bad := recsys.recsys_tune_params_error(c ->> 'algorithm', c -> 'params');
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'search space for "%" is invalid: %', c ->> 'algorithm', bad
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The parameter set %s was rejected; fix search_space.', c -> 'params');
        END IF;
    END LOOP;

    --------------------------------------------------------- validation split
    -- Materialised once: every candidate trains on the same rows and is
    -- judged on the same held-out items. An error anywhere below rolls back
    -- this table and every scratch model with the statement.
    IF to_regclass('pg_temp.recsys_tune_rows') IS NOT NULL THEN
        DROP TABLE pg_temp.recsys_tune_rows;  -- left by an earlier call in this transaction
    END IF;
    CREATE TEMP TABLE recsys_tune_rows AS
        SELECT * FROM recsys.recsys_split(source, 'per_user', recsys_tune_with_path.validation_fraction, NULL,
                                         recsys_tune_with_path.seed, caller_path);
    SELECT count(DISTINCT r.user_id), count(DISTINCT r.item_id), count(*) FILTER (WHERE r.is_test)
      INTO n_users, n_items, n_test FROM pg_temp.recsys_tune_rows r;
    -- Without a weight column the split reports NULL weights, which train()
    -- would skip as rows; leave the column out so they count as 1, as train() does.
    train_query := format('SELECT user_id, item_id%s FROM pg_temp.recsys_tune_rows WHERE NOT is_test',
                          CASE WHEN has_weight THEN ', weight' ELSE '' END);
    IF n_users = 0 THEN
        RAISE EXCEPTION 'the tuning query returned no rows' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Check the query: it must return (user_id, item_id [, weight]) rows.';
    END IF;
    IF n_test = 0 THEN
        RAISE EXCEPTION 'no user has enough distinct items to hold some out for validation'
            USING ERRCODE = 'invalid_parameter_value',
            HINT = format('With validation_fraction %s a user needs at least %s distinct items.',
                          recsys_tune_with_path.validation_fraction, ceil(0.5 / recsys_tune_with_path.validation_fraction));
    END IF;

    ------------------------------------------------------------------ search
    -- max_candidates counts trained candidates, coarse and fine together; when
    -- the grid does not fit, a quarter is kept for the fine step, and what the
    -- fine step leaves unused goes back to the rest of the grid.
    coarse_queue := queue;
    coarse_done := cardinality(queue);
    coarse_limit := CASE WHEN recsys_tune_with_path.max_candidates IS NULL OR cardinality(queue) <= recsys_tune_with_path.max_candidates
                         THEN cardinality(queue)
                         ELSE recsys_tune_with_path.max_candidates - recsys_tune_with_path.max_candidates / 4 END;
    planned := coarse_limit;
    <<phases>>
    FOREACH phase IN ARRAY ARRAY['coarse', 'fine', 'rest'] LOOP
        IF phase = 'rest' THEN
            queue := coarse_queue[coarse_done + 1:];
            planned := tried + least(cardinality(queue), coalesce(recsys_tune_with_path.max_candidates - tried, cardinality(queue)));
        ELSIF phase = 'fine' THEN
            -- Around the winner only, and only if it has something to refine.
            CONTINUE phases WHEN best IS NULL;
            SELECT coalesce(array_agg(jsonb_build_object('algorithm', best ->> 'algorithm', 'params', f.p) ORDER BY f.n),
                            ARRAY[]::jsonb[])
              INTO queue
              FROM recsys.recsys_tune_refine(best -> 'params', space -> (best ->> 'algorithm'))
                   WITH ORDINALITY AS f(p, n)
             WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(results) x WHERE x -> 'params' = f.p)
               AND recsys.recsys_tune_params_error(best ->> 'algorithm', f.p) IS NULL;
            planned := tried + least(cardinality(queue), coalesce(recsys_tune_with_path.max_candidates - tried, cardinality(queue)));
        END IF;
        FOR i IN 1 .. coalesce(cardinality(queue), 0) LOOP
            c := queue[i];
            IF phase = 'coarse' AND tried >= coarse_limit THEN
                coarse_done := i - 1;
                EXIT;
            END IF;
            IF recsys_tune_with_path.max_candidates IS NOT NULL AND tried >= recsys_tune_with_path.max_candidates THEN
                stopped_by := 'max_candidates';
                EXIT phases;
            END IF;
            -- Checked between candidates, after the first (popularity, cheap),
            -- so there is always a model to keep: one in flight runs to its end
            -- (a hard limit is statement_timeout, which aborts the whole call).
            IF recsys_tune_with_path.budget IS NOT NULL AND tried >= 1 AND clock_timestamp() - started >= recsys_tune_with_path.budget THEN
                stopped_by := 'budget';
                RAISE NOTICE 'tune: budget of % reached after % candidates; keeping the best so far',
                             recsys_tune_with_path.budget, tried;
                EXIT phases;
            END IF;
            bad := recsys.recsys_tune_too_big(c ->> 'algorithm', c -> 'params', n_users, n_items);
            IF bad IS NOT NULL THEN
                RAISE NOTICE 'tune: skipping % %: %', c ->> 'algorithm', c -> 'params', bad
                    USING HINT = 'Add "max_items" (EASE) or fewer "factors" to its search space, or raise recsys.memory_limit.';
                skipped := skipped || jsonb_build_object('algorithm', c -> 'algorithm', 'params', c -> 'params', 'reason', bad);
                CONTINUE;
            END IF;

            t0 := clock_timestamp();
            trained := true;
            BEGIN
                info := recsys.train(scratch, c ->> 'algorithm', train_query, c -> 'params');
            EXCEPTION WHEN program_limit_exceeded OR out_of_memory THEN
                -- The core's own memory check caught what the estimate missed.
                RAISE NOTICE 'tune: skipping % %: %', c ->> 'algorithm', c -> 'params', SQLERRM;
                skipped := skipped || jsonb_build_object('algorithm', c -> 'algorithm', 'params', c -> 'params',
                                                         'reason', SQLERRM);
                trained := false;
            END;
            CONTINUE WHEN NOT trained;
            tried := tried + 1;
            t0 := clock_timestamp();
            eval := recsys.recsys_evaluate(scratch, test_query, k, caller_path);
            eval_s := extract(epoch FROM clock_timestamp() - t0);
            cand_score := (eval -> 'all' ->> metric_name)::double precision;
            results := results || jsonb_build_object(
                'candidate', tried, 'phase', phase, 'algorithm', c -> 'algorithm', 'params', c -> 'params',
                'score', cand_score, 'train_seconds', (info ->> 'train_seconds')::double precision,
                'evaluate_seconds', eval_s);
            -- Strictly better only: ties keep the earlier, simpler candidate.
            IF cand_score IS NOT NULL AND (best IS NULL OR cand_score > (best ->> 'score')::double precision) THEN
                best := results -> -1;
                best_eval := eval;
            END IF;
            IF c ->> 'algorithm' = 'popularity' AND cand_score IS NOT NULL
               AND (floor_ IS NULL OR cand_score > (floor_ ->> 'score')::double precision) THEN
                floor_ := results -> -1;
                floor_eval := eval;
            END IF;
            RAISE NOTICE 'tune: candidate % of %: % %: % = % (train % s, evaluate % s)',
                         tried, planned, c ->> 'algorithm', c -> 'params', recsys_tune_with_path.metric,
                         coalesce(round(cand_score::numeric, 4)::text, 'NULL'),
                         round((info ->> 'train_seconds')::numeric, 2), round(eval_s::numeric, 2);
        END LOOP;
    END LOOP;
    IF stopped_by <> 'budget' AND tried >= recsys_tune_with_path.max_candidates THEN
        stopped_by := 'max_candidates';
    END IF;
    PERFORM recsys.drop_model(scratch, if_exists => true);

    IF best IS NULL THEN
        RAISE EXCEPTION 'no candidate could be trained and scored' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'See the NOTICEs for skipped candidates; raise recsys.memory_limit or the budget.';
    END IF;

    ------------------------------------------------------------ the winner
    -- With many candidates the top validation score is biased upwards (some
    -- win by luck: on data with no personal signal the best of 30 beat
    -- popularity by 0.6%), so popularity, cheap and explainable, stays the
    -- choice unless a personalised model beats it by min_improvement.
    IF floor_ IS NOT NULL AND best ->> 'algorithm' <> 'popularity'
       AND (best ->> 'score')::double precision
           < (floor_ ->> 'score')::double precision * (1 + recsys_tune_with_path.min_improvement) THEN
        RAISE NOTICE 'tune: keeping popularity (% = %): the best candidate, % % (%), beats it by less than min_improvement (%)',
                     recsys_tune_with_path.metric, round((floor_ ->> 'score')::numeric, 4), best ->> 'algorithm', best -> 'params',
                     round((best ->> 'score')::numeric, 4), recsys_tune_with_path.min_improvement;
        best := floor_;
        best_eval := floor_eval;
    END IF;
    -- Retrained on all rows with the caller's own query (original id types);
    -- its stored metrics are the validation metrics of the search, so
    -- metrics->'all'->>'ndcg' reads as after evaluate(), plus the search log.
    info := recsys.recsys_train_with_path(recsys_tune_with_path.name, best ->> 'algorithm', source, best -> 'params',
                                          caller_path);
    UPDATE recsys.recsys_models AS m
       SET metrics = best_eval || jsonb_build_object('tune', jsonb_build_object(
               'metric', recsys_tune_with_path.metric, 'seed', recsys_tune_with_path.seed, 'search', recsys_tune_with_path.search,
               'validation_fraction', recsys_tune_with_path.validation_fraction, 'validation_test_rows', n_test,
               'min_improvement', recsys_tune_with_path.min_improvement,
               'max_candidates', recsys_tune_with_path.max_candidates, 'budget_seconds', extract(epoch FROM recsys_tune_with_path.budget),
               'stopped_by', stopped_by, 'seconds', extract(epoch FROM clock_timestamp() - started),
               'chosen', best, 'candidates', results, 'skipped', skipped))
     WHERE m.name = recsys_tune_with_path.name;
    DROP TABLE pg_temp.recsys_tune_rows;
    RAISE NOTICE 'tune: chose % % (% = %), retrained on all rows in % s and stored as "%"',
                 best ->> 'algorithm', best -> 'params', recsys_tune_with_path.metric, round((best ->> 'score')::numeric, 4),
                 round((info ->> 'train_seconds')::numeric, 2), recsys_tune_with_path.name;

    RETURN QUERY
    SELECT (x ->> 'candidate')::integer, x ->> 'algorithm', x -> 'params', (x ->> 'score')::double precision,
           (x ->> 'train_seconds')::double precision, (x ->> 'candidate') = (best ->> 'candidate')
      FROM jsonb_array_elements(results) AS x ORDER BY (x ->> 'candidate')::integer;
END
$$;
COMMENT ON FUNCTION recsys_tune_with_path(text, text, text[], text, interval, integer, jsonb, text, bigint, float8,
                                          float8, text) IS
    'tune() with the search_path to parse the caller''s query with.';

CREATE FUNCTION tune(name text, query text,
                     algorithms text[] DEFAULT NULL,
                     metric text DEFAULT 'ndcg@10',
                     budget interval DEFAULT interval '5 minutes',
                     max_candidates integer DEFAULT NULL,
                     search_space jsonb DEFAULT NULL,
                     search text DEFAULT 'random',
                     seed bigint DEFAULT 42,
                     validation_fraction float8 DEFAULT 0.2,
                     min_improvement float8 DEFAULT 0.02)
RETURNS TABLE (candidate integer, algorithm text, params jsonb, score double precision, train_s double precision,
               chosen boolean)
LANGUAGE sql AS $$
    SELECT * FROM recsys.recsys_tune_with_path($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                                               pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION tune(text, text, text[], text, interval, integer, jsonb, text, bigint, float8, float8) IS
    'Searches algorithms and parameters on a per-user validation split of the query''s rows, retrains the best on all rows and stores it under a name; one row per candidate tried.';
