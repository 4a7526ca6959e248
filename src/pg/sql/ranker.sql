------------------------------------------------------------------------------
-- Feature-aware ranker (issue 13): train_ranker(name, purchases_query,
-- items_query, params) stores an ordinary model of algorithm "ranker".
------------------------------------------------------------------------------
CREATE FUNCTION recsys_ranker_check_params(params jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'recsys_ranker_check_params' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION recsys_ranker_check_params(jsonb) IS
    'Raises the error the ranker gives for a parameter set, if any (used by train_ranker).';

CREATE FUNCTION recsys_ranker_train(purchases_query text, items_query text, params jsonb, search_path text)
RETURNS TABLE (model bytea, report jsonb)
    AS 'MODULE_PATHNAME', 'recsys_ranker_train' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_ranker_train(text, text, jsonb, text) IS
    'Trains a ranker on wrapped purchase and item queries (used by train_ranker); returns the model and its report.';

-- The caller's purchases query checked for its columns and wrapped for
-- read_purchases (src/pg/purchase_reader.h): user_id, item_id, ts in epoch
-- seconds, quantity and price (NULL when absent) and whether price is
-- there. Used by train_ranker and train_timing.
CREATE FUNCTION recsys_purchases_source(purchases_query text, search_path text)
RETURNS text LANGUAGE plpgsql STRICT SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    columns text[];
BEGIN
    source := recsys.recsys_query_body(purchases_query);
    columns := recsys.recsys_query_columns(source, search_path);
    IF NOT ('user_id' = ANY (columns) AND 'item_id' = ANY (columns)) THEN
        RAISE EXCEPTION 'the purchases query must return columns named user_id and item_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS.', array_to_string(columns, ', '));
    END IF;
    IF NOT 'ts' = ANY (columns) THEN
        RAISE EXCEPTION 'the purchases query must return a column named ts (the time of the purchase)'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Add the purchase time, e.g. invoice_date AS ts.',
                                array_to_string(columns, ', '));
    END IF;
    source := format('SELECT q.user_id, q.item_id, pg_catalog.date_part(''epoch'', q.ts)::pg_catalog.float8 AS ts, %s, %s, %s '
                     'FROM (%s) AS q',
                     CASE WHEN 'quantity' = ANY (columns) THEN 'q.quantity::pg_catalog.float8 AS quantity'
                          ELSE 'NULL::pg_catalog.float8 AS quantity' END,
                     CASE WHEN 'price' = ANY (columns) THEN 'q.price::pg_catalog.float8 AS price'
                          ELSE 'NULL::pg_catalog.float8 AS price' END,
                     CASE WHEN 'price' = ANY (columns) THEN 'true AS recsys_has_price' ELSE 'false AS recsys_has_price' END,
                     source);
    RETURN source;
END
$$;
COMMENT ON FUNCTION recsys_purchases_source(text, text) IS
    'The purchases query (user_id, item_id, ts [, quantity, price]) checked and wrapped for the C side (train_ranker, train_timing).';

-- The caller's items query checked and wrapped: item_id, category (text)
-- and price (NULL when absent).
CREATE FUNCTION recsys_items_source(items_query text, search_path text)
RETURNS text LANGUAGE plpgsql STRICT SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    items_source text;
    columns text[];
    category_type regtype;
BEGIN
    items_source := recsys.recsys_query_body(items_query);
    columns := recsys.recsys_query_columns(items_source, search_path);
    IF NOT 'item_id' = ANY (columns) THEN
        RAISE EXCEPTION 'the items query must return a column named item_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. It may also return category (text) and price.',
                                array_to_string(columns, ', '));
    END IF;
    IF 'category' = ANY (columns) THEN
        category_type := (recsys.recsys_query_column_types(items_source, search_path))
                         [array_position(columns, 'category')];
        -- A category is a label: text, an integer code, a boolean or an enum value.
        IF NOT (category_type IN ('text'::regtype, 'character varying'::regtype, 'character'::regtype,
                                  'name'::regtype, 'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype,
                                  'boolean'::regtype)
                OR (SELECT t.typtype = 'e' FROM pg_catalog.pg_type t WHERE t.oid = category_type)) THEN
            RAISE EXCEPTION 'the items query''s category column has type %, which is not a category type',
                            category_type
                USING ERRCODE = 'datatype_mismatch',
                      HINT = 'Return text, an integer code, a boolean or an enum as category (e.g. '
                             'category::text); a price goes in the price column.';
        END IF;
    END IF;
    items_source := format('SELECT q.item_id, %s, %s FROM (%s) AS q',
                           CASE WHEN 'category' = ANY (columns) THEN 'q.category::pg_catalog.text AS category'
                                ELSE 'NULL::pg_catalog.text AS category' END,
                           CASE WHEN 'price' = ANY (columns) THEN 'q.price::pg_catalog.float8 AS price'
                                ELSE 'NULL::pg_catalog.float8 AS price' END,
                           items_source);
    RETURN items_source;
END
$$;
COMMENT ON FUNCTION recsys_items_source(text, text) IS
    'The items query (item_id [, category, price]) checked and wrapped for the C side (train_ranker, train_timing).';

-- Training from purchases, shared by train_ranker (kind 'ranker') and
-- train_timing ('timing'): checks, wraps the caller's queries (run with the
-- caller's search_path, which read_query sets; the wrapping is qualified
-- throughout), trains by recsys_<kind>_train and stores the model; the result
-- is recsys_store_model's (with the recipe) and the training report under
-- the kind's name.
CREATE FUNCTION recsys_train_from_purchases(kind text, name text, purchases_query text, items_query text,
                                            params jsonb, search_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    items_source text;
    params_ constant jsonb := coalesce(params, '{}');
    started timestamptz;
    trained bytea;
    report jsonb;
BEGIN
    IF kind IS NULL OR kind NOT IN ('ranker', 'timing') THEN
        RAISE EXCEPTION 'unknown kind of purchase model: %', kind USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use train_ranker() or train_timing().';
    END IF;
    IF purchases_query IS NULL THEN
        RAISE EXCEPTION 'purchases_query must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = format('e.g. train_%s(''%s'', ''SELECT customer_id AS user_id, stock_code AS item_id, invoice_date AS ts FROM purchases'').',
                          kind, CASE kind WHEN 'ranker' THEN 'shop' ELSE 'shop_timing' END);
    END IF;
    IF jsonb_typeof(params_) <> 'object' THEN
        RAISE EXCEPTION 'params must be a jsonb object, got %', jsonb_typeof(params_)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Map parameter names to values, e.g. ''%s'', or pass ''{}'' for the defaults.',
                                CASE kind WHEN 'ranker' THEN '{"learner": "forest"}' ELSE '{"horizon_days": 30}' END);
    END IF;
    -- What can be checked without the data fails before the rows are read.
    PERFORM recsys.recsys_check_can_store(name);
    EXECUTE format('SELECT recsys.%I($1)', 'recsys_' || kind || '_check_params') USING params_;
    source := recsys.recsys_purchases_source(purchases_query, search_path);
    IF items_query IS NOT NULL THEN
        items_source := recsys.recsys_items_source(items_query, search_path);
    END IF;
    started := clock_timestamp();
    EXECUTE format('SELECT r.model, r.report FROM recsys.%I($1, $2, $3, $4) AS r', 'recsys_' || kind || '_train')
       INTO trained, report USING source, items_source, params_, search_path;
    RETURN recsys.recsys_store_model(name, trained, extract(epoch FROM clock_timestamp() - started)::float8,
                                     jsonb_build_object('kind', 'train_' || kind, 'purchases_query', purchases_query,
                                                        'items_query', items_query, 'params', params_,
                                                        'search_path', search_path))
           || jsonb_build_object(kind, report);
END
$$;
COMMENT ON FUNCTION recsys_train_from_purchases(text, text, text, text, jsonb, text) IS
    'train_ranker() and train_timing() with the search_path to parse the caller''s queries with.';

CREATE FUNCTION train_ranker(name text, purchases_query text, items_query text DEFAULT NULL, params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT recsys.recsys_train_from_purchases('ranker', $1, $2, $3, $4, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION train_ranker(text, text, text, jsonb) IS
    'Trains a feature-aware ranker over purchases (user_id, item_id, ts [, quantity, price]) and optional items '
    '(item_id [, category, price]) and stores it under a name.';

CREATE FUNCTION explain_ranker(user_id text, item_id text, model text DEFAULT NULL)
RETURNS TABLE (feature text, value float8, contribution float8)
    AS 'MODULE_PATHNAME', 'recsys_explain_ranker' LANGUAGE C STABLE PARALLEL SAFE ROWS 40;
COMMENT ON FUNCTION explain_ranker(text, text, text) IS
    'A ranker''s features of a (user, item) candidate, each with its part of the score''s margin (they add up to it).';

CREATE FUNCTION feature_importance(model text DEFAULT NULL)
RETURNS TABLE (feature text, importance float8)
    AS 'MODULE_PATHNAME', 'recsys_ranker_importance' LANGUAGE C STABLE PARALLEL SAFE ROWS 40;
COMMENT ON FUNCTION feature_importance(text) IS
    'A ranker''s importance of each feature: total gain (tree learners) or |coefficient| (logistic); none for mlp.';
