-- The algorithm registry, read from the core's declarations: nothing about an
-- algorithm (names, parameters, defaults, ranges, tune()'s search values,
-- memory, capabilities) is restated in SQL.
CREATE FUNCTION recsys_algorithms_json() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_algorithms_json' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION recsys_algorithms_json() IS
    'The algorithms as the core declares them (name, summary, capabilities, parameters), as JSON.';

CREATE FUNCTION algorithms()
RETURNS TABLE (name text, summary text, learns_users boolean, fold_in boolean, similar_items boolean,
               explain boolean, incremental boolean, tuned_by_default boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT a ->> 'name', a ->> 'summary',
           (a -> 'capabilities' ->> 'learns_users')::boolean, (a -> 'capabilities' ->> 'fold_in')::boolean,
           (a -> 'capabilities' ->> 'similar_items')::boolean, (a -> 'capabilities' ->> 'explain')::boolean,
           (a -> 'capabilities' ->> 'incremental')::boolean, (a -> 'capabilities' ->> 'tuned_by_default')::boolean
      FROM jsonb_array_elements(recsys.recsys_algorithms_json()) WITH ORDINALITY AS t(a, n)
     ORDER BY n
$$;
COMMENT ON FUNCTION algorithms() IS
    'The algorithms train() knows, with what each can do (fold-in of baskets, similar items, explanations).';

CREATE FUNCTION algorithm_parameters(algorithm text DEFAULT NULL)
RETURNS TABLE (algorithm text, parameter text, type text, default_value jsonb, min double precision,
               max double precision, choices text[], tune_values jsonb, common boolean, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT a ->> 'name', p ->> 'name', p ->> 'type', nullif(p -> 'default', 'null'),
           (p ->> 'min')::double precision, (p ->> 'max')::double precision,
           CASE WHEN p ? 'choices' THEN ARRAY(SELECT jsonb_array_elements_text(p -> 'choices')) END,
           nullif(p -> 'tune', 'null'), (p ->> 'common')::boolean, p ->> 'doc'
      FROM jsonb_array_elements(recsys.recsys_algorithms_json()) WITH ORDINALITY AS t(a, n),
           jsonb_array_elements(a -> 'params') WITH ORDINALITY AS q(p, m)
     WHERE algorithm_parameters.algorithm IS NULL OR a ->> 'name' = algorithm_parameters.algorithm
     ORDER BY n, m
$$;
COMMENT ON FUNCTION algorithm_parameters(text) IS
    'Every parameter of every algorithm (or of one): type, default (NULL: derived, see description), range, choices, the values tune() tries.';

CREATE FUNCTION recsys_memory_estimate(algorithm text, params jsonb, n_users bigint, n_items bigint) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_memory_estimate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION recsys_memory_estimate(text, jsonb, bigint, bigint) IS
    'Memory an algorithm''s training needs for its own structures on data of this shape, as {"bytes", "formula"}; NULL when small.';
