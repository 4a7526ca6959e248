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

CREATE FUNCTION recommend_all(k integer, model text DEFAULT NULL, users text[] DEFAULT NULL,
                              exclude_seen boolean DEFAULT true)
RETURNS TABLE (user_id text, item_id text, score real, rank integer, source text)
    AS 'MODULE_PATHNAME', 'recsys_recommend_all' LANGUAGE C STABLE PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION recommend_all(integer, text, text[], boolean) IS
    'Every user''s (or the given users'') top-k, scored in blocks: for nightly batch output and BI.';
