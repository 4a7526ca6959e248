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
-- Each algorithm declares, per parameter, the values tune() tries (see
-- algorithm_parameters()); popularity, with none, is one candidate: the floor
-- every personalised model must beat.
CREATE FUNCTION recsys_tune_default_space() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT jsonb_object_agg(a.name, coalesce((SELECT jsonb_object_agg(p.parameter, p.tune_values)
                                                FROM recsys.algorithm_parameters(a.name) p
                                               WHERE p.tune_values IS NOT NULL), '{}'))
      FROM recsys.algorithms() a
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
                HINT = format('Known algorithms: %s.', (SELECT string_agg(a.name, ', ') FROM recsys.algorithms() a));
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
    estimate constant jsonb := recsys.recsys_memory_estimate(algorithm, params, n_users, n_items);
BEGIN
    IF estimate IS NULL OR (estimate ->> 'bytes')::numeric <= memory_limit THEN
        RETURN NULL;
    END IF;
    RETURN format('needs %s = %s, more than recsys.memory_limit (%s)', estimate ->> 'formula',
                  pg_size_pretty((estimate ->> 'bytes')::numeric), current_setting('recsys.memory_limit'));
END
$$;
COMMENT ON FUNCTION recsys_tune_too_big(text, jsonb, bigint, bigint) IS
    'Why a tune() candidate would not fit in recsys.memory_limit, or NULL if it fits.';

-- The parameters tune()'s winner is retrained on all rows with. Each
-- candidate is validated trained on (1 - validation_fraction) of every
-- user's items; with all of them EASE wants less regularisation: over a
-- fine λ grid, the best λ trained on 64% of the rows scored on 16% was
-- 0.5-0.7 x the best trained on 51% scored on 13% (nested splits of
-- issue 14's training part of online-retail and online-retail-ii, seeds
-- 1 and 2, bench/tune_rescale_core.cpp), about (1 - validation_fraction)²
-- = 0.64, which retrains EASE's λ here. The other parameters are kept:
-- ALS's best regularisation did not move (complete-journey, 128 factors,
-- α 10: 100 at both sizes), and RP3beta and item-kNN search none that
-- grows with the rows (their rows are normalised).
CREATE FUNCTION recsys_tune_retrain_params(algorithm text, params jsonb, validation_fraction float8) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT CASE WHEN algorithm = 'ease' AND jsonb_typeof(params -> 'lambda') = 'number'
                THEN params || jsonb_build_object('lambda', round((params ->> 'lambda')::numeric
                                                                  * power(1 - validation_fraction::numeric, 2), 2))
                ELSE params END
$$;
COMMENT ON FUNCTION recsys_tune_retrain_params(text, jsonb, float8) IS
    'The parameters tune() retrains its winner on all rows with: EASE''s lambda x (1 - validation_fraction)², the others as validated.';

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
                                      validation_fraction float8, min_improvement float8, blend boolean,
                                      search_path text)
RETURNS TABLE (candidate integer, algorithm text, params jsonb, score double precision, train_s double precision,
               chosen boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    known constant text[] := ARRAY(SELECT a.name FROM recsys.algorithms() a);
    untuned constant text[] := ARRAY(SELECT a.name FROM recsys.algorithms() a WHERE NOT a.tuned_by_default);
    -- One scratch name per backend: concurrent tunes of the same name do not
    -- collide on the model table's key, and train() replaces it per candidate.
    scratch constant text := format('%s (tune candidate, backend %s)', recsys_tune_with_path.name, pg_backend_pid());
    train_query text;
    test_query constant text := 'SELECT user_id, item_id FROM pg_temp.recsys_tune_rows WHERE is_test';
    started constant timestamptz := clock_timestamp();
    search_seconds float8;
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
    -- The time budget: each candidate's cost (train + evaluate seconds) is
    -- estimated before it starts, from the last measured candidate of its
    -- algorithm scaled by size (the registry's memory estimate x iterations),
    -- or, for an algorithm not measured yet, as the costliest candidate so
    -- far (at least 3 x popularity's). It must fit in what is left of the
    -- budget together with retraining the winner on all rows.
    costs jsonb := '{}';
    max_cost double precision := 0;
    pop_cost double precision;
    est double precision;
    size_c double precision;
    left_s double precision;
    reserve double precision;
    retrain_factor double precision;
    budget_s double precision;
    budget_skips integer := 0;
    -- Blends: every candidate trained stays stored under a name of its own
    -- ('<name> (tune candidate <n>, backend <pid>)'), to be blended after
    -- the search; the library blended, the best blend found, and the best
    -- single model.
    part text;
    blend_names text[];
    blend_parts jsonb[];
    blend_reserve double precision := 0;
    lib_seconds double precision;
    lib_bytes bigint;
    memory_bytes constant bigint := pg_catalog.pg_size_bytes(pg_catalog.current_setting('recsys.memory_limit'));
    select_s double precision;
    retrain_limit double precision;
    best_blend jsonb;
    best_blend_eval jsonb;
    best_single jsonb;
    final_names text[];
    retrain_s double precision;
    retrained jsonb;  -- the params the winner (each component of a blend) was retrained with
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
    -- Without a list: every algorithm tuned by default (all but bpr), plus any
    -- the search space names.
    SELECT array_agg(a ORDER BY array_position(known, a)) INTO algos
      FROM unnest(known) a
     WHERE a = 'popularity'
        OR (recsys_tune_with_path.algorithms IS NULL AND NOT a = ANY (untuned))
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
    IF recsys_tune_with_path.blend IS NULL THEN
        RAISE EXCEPTION 'blend must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'true tries blends of the candidates trained (greedy forward selection); false keeps single models.';
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
    -- Algorithms seeded by default (ALS, BPR) get the seed too, so their
    -- initialisation is reproducible.
    SELECT array_agg(jsonb_build_object('algorithm', g.algo, 'params', g.params) ORDER BY g.algo <> 'popularity', g.r, g.o)
      INTO queue
      FROM (SELECT a.algo, a.o,
                   CASE WHEN EXISTS (SELECT FROM recsys.algorithm_parameters(a.algo) s
                                      WHERE s.parameter = 'seed' AND s.default_value IS NOT NULL)
                             AND NOT p.params ? 'seed'
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

    retrain_factor := 1.0 / (1.0 - recsys_tune_with_path.validation_fraction);
    budget_s := extract(epoch FROM recsys_tune_with_path.budget);

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
            IF recsys_tune_with_path.budget IS NOT NULL AND tried >= 1 THEN
                size_c := coalesce((recsys.recsys_memory_estimate(c ->> 'algorithm', c -> 'params', n_users, n_items)
                                    ->> 'bytes')::double precision, 1)
                          * coalesce((c -> 'params' ->> 'iterations')::double precision,
                                     (SELECT (ap.default_value #>> '{}')::double precision
                                        FROM recsys.algorithm_parameters(c ->> 'algorithm') ap
                                       WHERE ap.parameter = 'iterations'), 1);
                est := CASE WHEN costs ? (c ->> 'algorithm')
                            THEN greatest(pop_cost, (costs -> (c ->> 'algorithm') ->> 'seconds')::double precision
                                                    * size_c / (costs -> (c ->> 'algorithm') ->> 'size')::double precision)
                            ELSE greatest(max_cost, 3 * pop_cost) END;
                -- If it wins it is retrained on all rows; else the best so far
                -- is. With blends, the time they need is kept free too.
                reserve := greatest(est, (best ->> 'train_seconds')::double precision) * retrain_factor
                           + CASE WHEN recsys_tune_with_path.blend THEN blend_reserve ELSE 0 END;
                left_s := budget_s - extract(epoch FROM clock_timestamp() - started);
                IF est + reserve > left_s THEN
                    bad := format('estimated %s s and %s s to retrain it on all rows, %s s of the budget left',
                                  round(est::numeric, 2), round((est * retrain_factor)::numeric, 2),
                                  round(greatest(left_s, 0)::numeric, 2));
                    RAISE NOTICE 'tune: skipping % %: %', c ->> 'algorithm', c -> 'params', bad
                        USING HINT = 'Raise the budget to try it.';
                    skipped := skipped || jsonb_build_object('algorithm', c -> 'algorithm', 'params', c -> 'params',
                                                             'reason', bad);
                    budget_skips := budget_skips + 1;
                    CONTINUE;
                END IF;
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
            est := (info ->> 'train_seconds')::double precision + eval_s;
            size_c := coalesce((recsys.recsys_memory_estimate(c ->> 'algorithm', c -> 'params', n_users, n_items)
                                ->> 'bytes')::double precision, 1)
                      * coalesce((c -> 'params' ->> 'iterations')::double precision,
                                 (SELECT (ap.default_value #>> '{}')::double precision
                                    FROM recsys.algorithm_parameters(c ->> 'algorithm') ap
                                   WHERE ap.parameter = 'iterations'), 1);
            costs := costs || jsonb_build_object(c ->> 'algorithm', jsonb_build_object('seconds', est, 'size', size_c));
            max_cost := greatest(max_cost, est);
            IF pop_cost IS NULL THEN
                pop_cost := est;  -- the first candidate: popularity
                -- Too small a budget for any candidate: the split, popularity
                -- and its retraining on all rows do not fit in it.
                left_s := extract(epoch FROM clock_timestamp() - started)
                          + (info ->> 'train_seconds')::double precision * retrain_factor;
                IF recsys_tune_with_path.budget IS NOT NULL AND left_s > budget_s THEN
                    RAISE EXCEPTION 'budget of % is too small for any candidate: the smallest feasible budget here is % s',
                                    recsys_tune_with_path.budget, ceil(left_s * 1.05 * 100) / 100
                        USING ERRCODE = 'invalid_parameter_value',
                              HINT = format('The validation split and popularity, the cheapest candidate (with its '
                                            'retraining on all rows), took %s s; every other candidate needs more. '
                                            'Pass a larger budget, e.g. budget => interval ''5 minutes''.',
                                            round(left_s::numeric, 2));
                END IF;
            END IF;
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
            -- Every scored candidate stays trained for the blends (its rows
            -- were written by train() anyway; they go at the end).
            IF recsys_tune_with_path.blend AND cand_score IS NOT NULL THEN
                part := format('%s (tune candidate %s, backend %s)', recsys_tune_with_path.name, tried, pg_backend_pid());
                PERFORM recsys.drop_model(part, if_exists => true);
                UPDATE recsys.recsys_models AS m SET name = part WHERE m.name = scratch AND m.active;
            END IF;
            -- The time the blends will need, kept free from here on so that
            -- they get their turn once there are two models to blend: 15% of
            -- the budget (scoring the library, the selection's steps; the
            -- components' retraining must fit in what is left then).
            IF recsys_tune_with_path.blend AND jsonb_array_length(results) >= 2 THEN
                blend_reserve := 0.15 * coalesce(budget_s, 0);
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
    ELSIF stopped_by = 'search space exhausted' AND budget_skips > 0 THEN
        stopped_by := 'budget';
    END IF;
    PERFORM recsys.drop_model(scratch, if_exists => true);

    ------------------------------------------------------------------ blends
    -- Greedy forward selection (recsys_blend_select, src/core/blend.h) from
    -- a library of the candidates trained: the best single model, then the
    -- best of each algorithm, the second best of each, and so on (by score
    -- within each round: a varied library blends better than the top
    -- scores of one algorithm), at most 16, as many as the time left and
    -- recsys.memory_limit allow; starting from the best single model, it
    -- adds the candidate and share that most improve the validation metric
    -- until nothing does (each user scored once per library model; nothing
    -- stored). The blend is kept only if it beats the best single model.
    -- Time: the best single model's retraining stays reserved; of what is
    -- left, half at most for scoring the library (estimated as twice each
    -- model's evaluation: loading it and keeping its scores), a quarter
    -- for the steps, and the rest for retraining the blend's components
    -- (their cost bounds which candidates may join).
    best_single := best;
    IF recsys_tune_with_path.blend AND best IS NOT NULL THEN
        left_s := coalesce(budget_s - extract(epoch FROM clock_timestamp() - started)
                           - (best ->> 'train_seconds')::double precision * retrain_factor, 'Infinity');
        lib_seconds := 0;
        lib_bytes := 0;
        blend_parts := ARRAY[]::jsonb[];
        FOR c IN
            SELECT r.x FROM (SELECT x, row_number() OVER (PARTITION BY x ->> 'algorithm'
                                                          ORDER BY (x ->> 'score')::double precision DESC,
                                                                   (x ->> 'candidate')::integer) AS nth
                               FROM jsonb_array_elements(results) x WHERE x ->> 'score' IS NOT NULL) r
             ORDER BY r.x -> 'candidate' = best -> 'candidate' DESC, r.nth,
                      (r.x ->> 'score')::double precision DESC, (r.x ->> 'candidate')::integer
        LOOP
            EXIT WHEN cardinality(blend_parts) >= 16;
            part := format('%s (tune candidate %s, backend %s)', recsys_tune_with_path.name, c ->> 'candidate', pg_backend_pid());
            est := 2 * (c ->> 'evaluate_seconds')::double precision;
            size_c := (SELECT m.model_bytes FROM recsys.recsys_models m WHERE m.name = part AND m.active);
            CONTINUE WHEN lib_seconds + est > left_s / 2 OR lib_bytes + coalesce(size_c, 0) > memory_bytes;
            lib_seconds := lib_seconds + est;
            lib_bytes := lib_bytes + coalesce(size_c, 0);
            blend_parts := blend_parts || (c || jsonb_build_object('model', part));
        END LOOP;
        -- The start must be in it, with something to blend it with.
        IF cardinality(blend_parts) < 2 OR blend_parts[1] -> 'candidate' <> best -> 'candidate' THEN
            IF jsonb_array_length(results) >= 2 THEN
                RAISE NOTICE 'tune: skipping the blends: % s of the budget left after keeping % s to retrain the best model',
                             round(greatest(left_s, 0)::numeric, 2),
                             round(((best ->> 'train_seconds')::double precision * retrain_factor)::numeric, 2)
                    USING HINT = 'Raise the budget to try them.';
                skipped := skipped || jsonb_build_object('algorithm', 'blend', 'params', '{}'::jsonb, 'reason', 'budget');
            END IF;
        ELSE
            select_s := left_s / 4;
            retrain_limit := coalesce(budget_s - extract(epoch FROM clock_timestamp() - started)
                                      - 1.1 * (lib_seconds + select_s), 'Infinity');
            blend_names := ARRAY(SELECT p ->> 'model' FROM unnest(blend_parts) p);
            t0 := clock_timestamp();
            BEGIN
                eval := recsys.recsys_blend_select(
                    blend_names, (best ->> 'score')::double precision,
                    ARRAY(SELECT (p ->> 'train_seconds')::double precision * retrain_factor FROM unnest(blend_parts) p),
                    greatest(retrain_limit, 0), select_s, test_query, metric_name, k, caller_path);
            EXCEPTION WHEN program_limit_exceeded OR out_of_memory THEN
                RAISE NOTICE 'tune: skipping the blends: %', SQLERRM USING HINT = 'Raise recsys.memory_limit to try them.';
                skipped := skipped || jsonb_build_object('algorithm', 'blend', 'params', '{}'::jsonb, 'reason', SQLERRM);
                eval := NULL;
            END;
            eval_s := extract(epoch FROM clock_timestamp() - t0);
            IF eval IS NOT NULL THEN
                tried := tried + 1;
                cand_score := (eval -> 'metrics' -> 'all' ->> metric_name)::double precision;
                -- Candidates at weight 0 are left out: the blend is of the others.
                results := results || jsonb_build_object(
                    'candidate', tried, 'phase', 'blend', 'algorithm', 'blend',
                    'params', (SELECT jsonb_build_object(
                                          'components', jsonb_agg(jsonb_build_object('algorithm', p -> 'algorithm', 'params', p -> 'params')
                                                                  ORDER BY n),
                                          'weights', jsonb_agg(w ORDER BY n))
                                 FROM unnest(blend_parts) WITH ORDINALITY AS u(p, n)
                                      JOIN jsonb_array_elements(eval -> 'weights') WITH ORDINALITY AS e(w, m) ON e.m = u.n
                                WHERE (w #>> '{}')::double precision > 0),
                    'score', cand_score, 'train_seconds', 0, 'evaluate_seconds', eval_s,
                    'library', cardinality(blend_parts), 'steps', eval -> 'steps', 'weight_trials', eval -> 'trials',
                    'refined', eval -> 'refined', 'out_of_time', eval -> 'out_of_time');
                IF cand_score IS NOT NULL THEN
                    best_blend := results -> -1;
                    best_blend_eval := eval -> 'metrics';
                END IF;
                RAISE NOTICE 'tune: candidate %: blend from % models: % (% steps, % weight trials, % s)',
                             tried, cardinality(blend_parts),
                             CASE WHEN cand_score IS NULL THEN 'nothing beat the best single model'
                                  ELSE format('%s with weights %s: %s = %s',
                                              (SELECT string_agg(x ->> 'algorithm', ' + ')
                                                 FROM jsonb_array_elements(results -> -1 -> 'params' -> 'components') x),
                                              results -> -1 -> 'params' -> 'weights', recsys_tune_with_path.metric,
                                              round(cand_score::numeric, 4)) END,
                             eval -> 'steps', eval -> 'trials', round(eval_s::numeric, 2);
            END IF;
        END IF;
        -- Strictly better than the best single model on validation, or not kept.
        IF best_blend IS NOT NULL AND (best_blend ->> 'score')::double precision > (best ->> 'score')::double precision THEN
            best := best_blend;
            best_eval := best_blend_eval;
        END IF;
    END IF;

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
    IF best ->> 'algorithm' = 'blend' THEN
        -- Each component retrained on all rows, then blended under `name`.
        retrain_s := 0;
        retrained := '[]';
        final_names := ARRAY[]::text[];
        FOR i IN 1 .. jsonb_array_length(best -> 'params' -> 'components') LOOP
            final_names := final_names || format('%s (tune blend component %s, backend %s)', recsys_tune_with_path.name,
                                                 i, pg_backend_pid());
            c := best -> 'params' -> 'components' -> (i - 1);
            retrained := retrained || jsonb_build_array(recsys.recsys_tune_retrain_params(
                c ->> 'algorithm', c -> 'params', recsys_tune_with_path.validation_fraction));
            info := recsys.recsys_train_with_path(final_names[i], c ->> 'algorithm', source, retrained -> (i - 1),
                                                  caller_path);
            retrain_s := retrain_s + (info ->> 'train_seconds')::double precision;
        END LOOP;
        info := recsys.blend(recsys_tune_with_path.name, final_names,
                             ARRAY(SELECT w::float8 FROM jsonb_array_elements_text(best -> 'params' -> 'weights') w));
        info := info || jsonb_build_object('train_seconds', retrain_s + (info ->> 'train_seconds')::double precision);
        FOREACH part IN ARRAY final_names LOOP
            PERFORM recsys.drop_model(part);
        END LOOP;
    ELSE
        retrained := recsys.recsys_tune_retrain_params(best ->> 'algorithm', best -> 'params',
                                                       recsys_tune_with_path.validation_fraction);
        info := recsys.recsys_train_with_path(recsys_tune_with_path.name, best ->> 'algorithm', source, retrained,
                                              caller_path);
    END IF;
    FOR i IN 1 .. tried LOOP
        PERFORM recsys.drop_model(format('%s (tune candidate %s, backend %s)', recsys_tune_with_path.name, i, pg_backend_pid()),
                                  if_exists => true);
    END LOOP;
    -- Taken before the UPDATE: Citus refuses a volatile function in an UPDATE
    -- of the store once it is a reference table (distribute_store()).
    search_seconds := extract(epoch FROM clock_timestamp() - started);
    UPDATE recsys.recsys_models AS m
       SET metrics = best_eval || jsonb_build_object('tune', jsonb_build_object(
               'metric', recsys_tune_with_path.metric, 'seed', recsys_tune_with_path.seed, 'search', recsys_tune_with_path.search,
               'validation_fraction', recsys_tune_with_path.validation_fraction, 'validation_test_rows', n_test,
               'min_improvement', recsys_tune_with_path.min_improvement,
               'max_candidates', recsys_tune_with_path.max_candidates, 'budget_seconds', extract(epoch FROM recsys_tune_with_path.budget),
               'stopped_by', stopped_by, 'seconds', search_seconds,
               'chosen', best, 'retrained_params', retrained, 'best_single', best_single, 'best_blend', best_blend, 'blend', recsys_tune_with_path.blend,
               'candidates', results, 'skipped', skipped)),
           -- retrain() runs the whole search again, with these settings
           recipe = jsonb_build_object('kind', 'tune', 'query', source, 'algorithms', recsys_tune_with_path.algorithms,
               'metric', recsys_tune_with_path.metric, 'budget', recsys_tune_with_path.budget::text,
               'max_candidates', recsys_tune_with_path.max_candidates, 'search_space', recsys_tune_with_path.search_space,
               'search', recsys_tune_with_path.search, 'seed', recsys_tune_with_path.seed,
               'validation_fraction', recsys_tune_with_path.validation_fraction,
               'min_improvement', recsys_tune_with_path.min_improvement, 'blend', recsys_tune_with_path.blend,
               'search_path', caller_path)
     WHERE m.name = recsys_tune_with_path.name AND m.active;
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
                                          float8, boolean, text) IS
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
                     min_improvement float8 DEFAULT 0.02,
                     blend boolean DEFAULT true)
RETURNS TABLE (candidate integer, algorithm text, params jsonb, score double precision, train_s double precision,
               chosen boolean)
LANGUAGE sql AS $$
    SELECT * FROM recsys.recsys_tune_with_path($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                                               pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION tune(text, text, text[], text, interval, integer, jsonb, text, bigint, float8, float8, boolean) IS
    'Searches algorithms and parameters (and blends of the best) on a per-user validation split of the query''s rows, retrains the best on all rows and stores it under a name; one row per candidate tried.';
