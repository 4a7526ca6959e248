------------------------------------------------------------------------------
-- Purchase timing (issue 19): train_timing(name, purchases_query,
-- items_query, params) stores an ordinary model of algorithm "timing";
-- next_purchase / next_purchases predict, evaluate_timing measures,
-- explain_timing explains.
------------------------------------------------------------------------------
CREATE FUNCTION recsys_timing_check_params(params jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'recsys_timing_check_params' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION recsys_timing_check_params(jsonb) IS
    'Raises the error train_timing gives for a parameter set, if any (used by train_timing).';

CREATE FUNCTION recsys_timing_train(purchases_query text, items_query text, params jsonb, search_path text)
RETURNS TABLE (model bytea, report jsonb)
    AS 'MODULE_PATHNAME', 'recsys_timing_train' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_timing_train(text, text, jsonb, text) IS
    'Trains a timing model on wrapped purchase and item queries (used by train_timing); returns the model and its report.';

CREATE FUNCTION train_timing(name text, purchases_query text, items_query text DEFAULT NULL, params jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT recsys.recsys_train_from_purchases('timing', $1, $2, $3, $4, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION train_timing(text, text, text, jsonb) IS
    'Trains a purchase-timing model (days to the next purchase, "within H days") over purchases (user_id, item_id, ts '
    '[, quantity, price]) and optional items (item_id [, category, price]) and stores it under a name.';

CREATE FUNCTION next_purchase(user_id bigint, model text DEFAULT NULL)
RETURNS TABLE (expected_days real, expected_at timestamptz, p_within real, one_purchase boolean)
    AS 'MODULE_PATHNAME', 'recsys_next_purchase' LANGUAGE C STABLE PARALLEL SAFE ROWS 1;
CREATE FUNCTION next_purchase(user_id text, model text DEFAULT NULL)
RETURNS TABLE (expected_days real, expected_at timestamptz, p_within real, one_purchase boolean)
    AS 'MODULE_PATHNAME', 'recsys_next_purchase' LANGUAGE C STABLE PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION next_purchase(bigint, text) IS
    'When a customer buys again: expected days from the model''s now, that time, the probability of buying within H days, '
    'and whether the one-purchase fallback answered.';
COMMENT ON FUNCTION next_purchase(text, text) IS
    'When a customer buys again: expected days from the model''s now, that time, the probability of buying within H days, '
    'and whether the one-purchase fallback answered.';

CREATE FUNCTION next_purchases(model text DEFAULT NULL)
RETURNS TABLE (user_id text, expected_days real, expected_at timestamptz, p_within real, one_purchase boolean)
    AS 'MODULE_PATHNAME', 'recsys_next_purchases' LANGUAGE C STABLE PARALLEL SAFE ROWS 10000;
COMMENT ON FUNCTION next_purchases(text) IS
    'next_purchase() for every customer of a timing model (CRM exports, dashboards).';

CREATE FUNCTION recsys_evaluate_timing(model text, test_query text, search_path text)
RETURNS TABLE (customers bigint, observed bigint, mae float8, rmse float8, concordance float8, auc float8,
               brier float8, one_purchase_skipped bigint)
    AS 'MODULE_PATHNAME', 'recsys_evaluate_timing' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_evaluate_timing(text, text, text) IS
    'Metrics of a timing model on later purchases (wrapped query, parsed with the given search_path).';

CREATE FUNCTION recsys_evaluate_timing_with_path(model text, test_query text, search_path text)
RETURNS TABLE (customers bigint, observed bigint, mae float8, rmse float8, concordance float8, auc float8,
               brier float8, one_purchase_skipped bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    source text;
    columns text[];
BEGIN
    IF model IS NULL OR test_query IS NULL THEN
        RAISE EXCEPTION 'model and test_query must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. evaluate_timing(''shop_timing'', ''SELECT customer_id AS user_id, invoice_date AS ts FROM later_purchases'').';
    END IF;
    source := recsys.recsys_query_body(test_query);
    columns := recsys.recsys_query_columns(source, search_path);
    IF NOT ('user_id' = ANY (columns) AND 'ts' = ANY (columns)) THEN
        RAISE EXCEPTION 'the test query must return columns named user_id and ts'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS.', array_to_string(columns, ', '));
    END IF;
    source := format('SELECT q.user_id, pg_catalog.date_part(''epoch'', q.ts)::pg_catalog.float8 AS ts FROM (%s) AS q',
                     source);
    RETURN QUERY SELECT * FROM recsys.recsys_evaluate_timing(model, source, search_path);
END
$$;
COMMENT ON FUNCTION recsys_evaluate_timing_with_path(text, text, text) IS
    'evaluate_timing() with the search_path to parse the caller''s query with.';

CREATE FUNCTION evaluate_timing(model text, test_query text)
RETURNS TABLE (customers bigint, observed bigint, mae float8, rmse float8, concordance float8, auc float8,
               brier float8, one_purchase_skipped bigint)
LANGUAGE sql AS $$
    SELECT * FROM recsys.recsys_evaluate_timing_with_path($1, $2, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION evaluate_timing(text, text) IS
    'A timing model on purchases after its now (user_id, ts): MAE and RMSE in days (customers who came back), '
    'concordance (censored included), AUC and Brier score of "within H days".';

CREATE FUNCTION explain_timing(user_id bigint, model text DEFAULT NULL, target text DEFAULT 'days')
RETURNS TABLE (feature text, value float8, contribution float8)
    AS 'MODULE_PATHNAME', 'recsys_explain_timing' LANGUAGE C STABLE PARALLEL SAFE ROWS 60;
CREATE FUNCTION explain_timing(user_id text, model text DEFAULT NULL, target text DEFAULT 'days')
RETURNS TABLE (feature text, value float8, contribution float8)
    AS 'MODULE_PATHNAME', 'recsys_explain_timing' LANGUAGE C STABLE PARALLEL SAFE ROWS 60;
COMMENT ON FUNCTION explain_timing(bigint, text, text) IS
    'A customer''s timing features, each with its part of the days model''s (target ''days'') or the within model''s '
    '(''within'') margin; they add up to it with the bias row.';
COMMENT ON FUNCTION explain_timing(text, text, text) IS
    'A customer''s timing features, each with its part of the days model''s (target ''days'') or the within model''s '
    '(''within'') margin; they add up to it with the bias row.';
