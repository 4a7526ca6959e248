------------------------------------------------------------------------------
-- Blends (src/core/blend.h): one model made of stored models trained on the
-- same rows, their per-user min-max normalised scores summed with weights.
-- tune() tries them; blend() builds one by hand.
------------------------------------------------------------------------------
CREATE FUNCTION recsys_blend(models text[], weights float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_blend' LANGUAGE C STABLE;
COMMENT ON FUNCTION recsys_blend(text[], float8[]) IS
    'The model bytes of a blend of stored models (used by blend and tune).';

CREATE FUNCTION recsys_blend_select(models text[], start_score float8, costs float8[], max_cost float8,
                                    seconds float8, test_query text, metric text, k integer, search_path text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'recsys_blend_select' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_blend_select(text[], float8, float8[], float8, float8, text, text, integer, text) IS
    'tune()''s blend search: greedy forward selection of a blend of stored models (the first is the start, scoring start_score) on a test query, nothing stored; the weights and the blend''s metrics.';

-- The blend goes from recsys_blend straight into the store in one statement
-- (by reference, as train() does). No recipe: retrain() cannot repeat it;
-- retrain the components and call blend() again.
CREATE FUNCTION blend(name text, models text[], weights float8[]) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    started constant timestamptz := clock_timestamp();
    stored jsonb;
BEGIN
    PERFORM recsys.recsys_check_can_store(blend.name);
    SELECT recsys.recsys_store_model(blend.name, b.model,
                                     date_part('epoch', clock_timestamp() - started), NULL)
      INTO stored FROM (SELECT recsys.recsys_blend(blend.models, blend.weights) AS model) AS b;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION blend(text, text[], float8[]) IS
    'Stores under a name the blend of stored models trained on the same rows: per-user min-max normalised scores summed with weights (scaled to sum to 1).';

CREATE FUNCTION explain_blend(user_id text, item_id text, model text DEFAULT NULL)
RETURNS TABLE (component integer, algorithm text, weight float8, normalised_score real, share real)
    AS 'MODULE_PATHNAME', 'recsys_explain_blend' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE FUNCTION explain_blend(user_id bigint, item_id text, model text DEFAULT NULL)
RETURNS TABLE (component integer, algorithm text, weight float8, normalised_score real, share real)
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 3 SET search_path = pg_catalog, recsys, pg_temp
    AS $$ SELECT * FROM recsys.explain_blend($1::text, $2, $3) $$;
COMMENT ON FUNCTION explain_blend(text, text, text) IS
    'Each component''s share of a blend''s score for a user and an item (the shares sum to the score).';
COMMENT ON FUNCTION explain_blend(bigint, text, text) IS
    'Each component''s share of a blend''s score for a user with an integer id and an item.';
