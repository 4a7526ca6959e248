-- recsys 0.1.0: install script.
\echo Use "CREATE EXTENSION recsys" to load this file. \quit

------------------------------------------------------------------------------
-- The model store: one row per named model. pg_dump keeps its rows.
------------------------------------------------------------------------------
CREATE TABLE recsys_models (
    name           text PRIMARY KEY CHECK (length(name) > 0),
    algorithm      text NOT NULL,
    params         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    n_users        bigint NOT NULL,
    n_items        bigint NOT NULL,
    n_interactions bigint NOT NULL,
    train_seconds  double precision,
    metrics        jsonb,
    model          bytea NOT NULL
);
ALTER TABLE recsys_models ALTER COLUMN model SET STORAGE EXTERNAL;  -- already compact: skip compression
SELECT pg_catalog.pg_extension_config_dump('recsys_models', '');
COMMENT ON TABLE recsys_models IS 'Trained recsys models; written by train() and save_model().';

CREATE FUNCTION recsys_models_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'recsys_models_changed' LANGUAGE C;
-- Storing metrics (UPDATE OF metrics) keeps the decoded copies.
CREATE TRIGGER recsys_models_changed AFTER INSERT OR UPDATE OF name, model OR DELETE OR TRUNCATE ON recsys_models
    FOR EACH STATEMENT EXECUTE FUNCTION recsys_models_changed();

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

CREATE FUNCTION recsys_query_columns(query text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'recsys_query_columns' LANGUAGE C STRICT;
COMMENT ON FUNCTION recsys_query_columns(text) IS 'The column names a query returns (used by train).';

CREATE FUNCTION save_model(name text, model bytea, train_seconds double precision DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    info jsonb;
BEGIN
    IF save_model.name IS NULL OR length(save_model.name) = 0 THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF save_model.model IS NULL THEN
        RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Did the training query return no rows?';
    END IF;
    info := @extschema@.describe_model(save_model.model);
    INSERT INTO @extschema@.recsys_models AS m
           (name, algorithm, params, created_at, n_users, n_items, n_interactions, train_seconds, metrics, model)
    VALUES (save_model.name, info->>'algorithm', info->'params', clock_timestamp(), (info->>'users')::bigint,
            (info->>'items')::bigint, (info->>'interactions')::bigint, save_model.train_seconds, NULL, save_model.model)
    ON CONFLICT (name) DO UPDATE
       SET algorithm = EXCLUDED.algorithm, params = EXCLUDED.params, created_at = EXCLUDED.created_at,
           n_users = EXCLUDED.n_users, n_items = EXCLUDED.n_items, n_interactions = EXCLUDED.n_interactions,
           train_seconds = EXCLUDED.train_seconds, metrics = NULL, model = EXCLUDED.model;
    RETURN jsonb_build_object('name', save_model.name, 'train_seconds', save_model.train_seconds) || info;
END
$$;
COMMENT ON FUNCTION save_model(text, bytea, double precision) IS
    'Stores a model bytea (e.g. from recsys_train) under a name, replacing any model of that name.';

CREATE FUNCTION train(name text, algorithm text, query text, params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    source text;
    columns text[];
    weight text;
    started timestamptz;
    trained bytea;
BEGIN
    IF train.query IS NULL OR train.algorithm IS NULL THEN
        RAISE EXCEPTION 'algorithm and query must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    source := regexp_replace(train.query, '[\s;]+$', '');
    columns := @extschema@.recsys_query_columns(source);
    IF NOT ('user_id' = ANY (columns) AND 'item_id' = ANY (columns)) THEN
        RAISE EXCEPTION 'the training query must return columns named user_id and item_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS, e.g. SELECT customer_id AS user_id, '
                                'stock_code AS item_id, quantity AS weight FROM purchases.', array_to_string(columns, ', '));
    END IF;
    weight := CASE WHEN 'weight' = ANY (columns) THEN 'q.weight::float8' ELSE '1.0::float8' END;
    started := clock_timestamp();
    EXECUTE format('SELECT @extschema@.recsys_train($1, q.user_id, q.item_id, %s, $2) FROM (%s) AS q', weight, source)
       INTO trained USING train.algorithm, coalesce(train.params, '{}');
    IF trained IS NULL THEN
        RAISE EXCEPTION 'the training query returned no rows' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Check the query: it must return at least one (user_id, item_id) row.';
    END IF;
    RETURN @extschema@.save_model(train.name, trained, extract(epoch FROM clock_timestamp() - started)::float8);
END
$$;
COMMENT ON FUNCTION train(text, text, text, jsonb) IS
    'Trains a model over a query returning user_id, item_id [, weight] and stores it under a name.';

CREATE FUNCTION describe_model(name text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    result jsonb;
BEGIN
    SELECT jsonb_build_object('name', m.name, 'created_at', m.created_at, 'train_seconds', m.train_seconds,
                              'metrics', m.metrics) || @extschema@.describe_model(m.model)
      INTO result FROM @extschema@.recsys_models m WHERE m.name = describe_model.name;
    IF result IS NULL THEN
        RAISE EXCEPTION 'model "%" does not exist', describe_model.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys_list_models();';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION describe_model(text) IS 'Describes a stored model as jsonb.';

CREATE FUNCTION drop_model(name text, if_exists boolean DEFAULT false) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM @extschema@.recsys_models m WHERE m.name = drop_model.name;
    IF NOT FOUND AND NOT drop_model.if_exists THEN
        RAISE EXCEPTION 'model "%" does not exist', drop_model.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass if_exists => true to ignore a missing model.';
    END IF;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION drop_model(text, boolean) IS 'Deletes a stored model; true if one was deleted.';

CREATE FUNCTION recsys_list_models()
RETURNS TABLE (name text, algorithm text, params jsonb, created_at timestamptz, n_users bigint, n_items bigint,
               n_interactions bigint, train_seconds double precision, model_bytes integer, metrics jsonb)
LANGUAGE sql STABLE AS $$
    SELECT m.name, m.algorithm, m.params, m.created_at, m.n_users, m.n_items, m.n_interactions, m.train_seconds,
           octet_length(m.model), m.metrics
      FROM @extschema@.recsys_models m ORDER BY m.name
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
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 10
    AS $$ SELECT * FROM @extschema@.similar_items($1::text, $2, $3) $$;
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

CREATE FUNCTION recsys_split(query text, method text, fraction float8, n integer, seed bigint)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean)
    AS 'MODULE_PATHNAME', 'recsys_split' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_split(text, text, float8, integer, bigint) IS 'The rows of a query, split (used by split_*).';

CREATE FUNCTION split_per_user(query text, fraction float8, seed bigint DEFAULT 42)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE sql VOLATILE
    AS $$ SELECT * FROM @extschema@.recsys_split(query, 'per_user', fraction, NULL, seed) $$;
COMMENT ON FUNCTION split_per_user(text, float8, bigint) IS
    'Holds out round(fraction * n) of each user''s n distinct items (at least one stays in training).';

CREATE FUNCTION split_last_n(query text, n integer, seed bigint DEFAULT 42)
RETURNS TABLE (user_id text, item_id text, weight float8, is_test boolean) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    source text := regexp_replace(split_last_n.query, '[\s;]+$', '');
BEGIN
    IF NOT 'time' = ANY (@extschema@.recsys_query_columns(source)) THEN
        RAISE EXCEPTION 'the query must return a column named time' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Add the purchase time, e.g. SELECT customer_id AS user_id, stock_code AS item_id, invoice_date AS time.';
    END IF;
    RETURN QUERY SELECT * FROM @extschema@.recsys_split(
        format('SELECT q.*, extract(epoch FROM q.time)::float8 AS recsys_epoch FROM (%s) AS q', source),
        'last_n', NULL, split_last_n.n, split_last_n.seed);
END
$$;
COMMENT ON FUNCTION split_last_n(text, integer, bigint) IS
    'Holds out each user''s last n distinct items by the query''s "time" column (at least one stays in training).';

CREATE FUNCTION recsys_evaluate(model text, test_query text, k integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_evaluate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_evaluate(text, text, integer) IS 'Ranking metrics of a model on test rows, as jsonb.';

CREATE FUNCTION evaluate(model text, test_query text, k integer DEFAULT 10)
RETURNS TABLE (metric text, value double precision) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    result jsonb;
BEGIN
    result := @extschema@.recsys_evaluate(evaluate.model, regexp_replace(evaluate.test_query, '[\s;]+$', ''), evaluate.k);
    UPDATE @extschema@.recsys_models m SET metrics = result WHERE m.name = evaluate.model;
    RETURN QUERY
    SELECT x.metric || '@' || evaluate.k, (result -> 'all' ->> x.metric)::double precision
      FROM unnest(ARRAY['precision', 'recall', 'ndcg', 'map', 'hit_rate', 'coverage']) WITH ORDINALITY AS x(metric, i)
    UNION ALL SELECT 'users', (result -> 'all' ->> 'users')::double precision
    UNION ALL SELECT 'unknown_users', (result -> 'unknown' ->> 'users')::double precision;
END
$$;
COMMENT ON FUNCTION evaluate(text, text, integer) IS
    'precision, recall, NDCG, MAP, hit rate and coverage at k of a model on test rows; also stored in recsys_models.metrics.';

CREATE FUNCTION recommend_all(k integer, model text DEFAULT NULL, users text[] DEFAULT NULL,
                              exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id text, item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_all' LANGUAGE C STABLE PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION recommend_all(integer, text, text[], boolean) IS
    'Every user''s (or the given users'') top-k, scored in blocks: for nightly batch output and BI.';
