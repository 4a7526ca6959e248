------------------------------------------------------------------------------
-- Model lifecycle (issue 18): versions, rollback and retraining from recipes.
-- Every store of a name is a row of recsys_models (a version); exactly one
-- per name is active, and serving reads the active one. train(),
-- train_ranker() and tune() record how they made a model (its recipe);
-- retrain() runs the recipe again on the current data.
------------------------------------------------------------------------------
CREATE FUNCTION model_versions(name text)
RETURNS TABLE (version bigint, active boolean, created_at timestamptz, algorithm text, params jsonb, n_users bigint,
               n_items bigint, n_interactions bigint, train_seconds double precision, model_bytes integer,
               metrics jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF model_versions.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a stored model; list them with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    RETURN QUERY
    SELECT m.version, m.active, m.created_at, m.algorithm, m.params, m.n_users, m.n_items, m.n_interactions,
           m.train_seconds, m.model_bytes, m.metrics
      FROM recsys.recsys_models m WHERE m.name = model_versions.name ORDER BY m.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model_versions.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys.recsys_list_models();';
    END IF;
END
$$;
COMMENT ON FUNCTION model_versions(text) IS
    'The stored versions of a model, oldest first, the active (served) one marked; without their bytes.';

-- Two statements (the active flag is unique per name), one transaction: a
-- reader sees the old active version or the new one, and every serving
-- backend serves the new one from its next call (its cache is keyed on the
-- active row's version).
CREATE FUNCTION activate(name text, version bigint) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    model_owner name;
    previous bigint;
BEGIN
    IF activate.name IS NULL OR activate.version IS NULL THEN
        RAISE EXCEPTION 'name and version must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. activate(''shop'', 12); list the versions with SELECT * FROM recsys.model_versions(''shop'');';
    END IF;
    PERFORM recsys.recsys_lock_model(activate.name);
    SELECT m.owner INTO model_owner FROM recsys.recsys_models m WHERE m.name = activate.name LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', activate.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    IF NOT recsys.recsys_may_change(model_owner) THEN
        RAISE EXCEPTION 'model "%" belongs to role "%"', activate.name, model_owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Only members of %s or of recsys_admin may switch its versions.', quote_ident(model_owner));
    END IF;
    IF NOT EXISTS (SELECT FROM recsys.recsys_models m WHERE m.name = activate.name AND m.version = activate.version) THEN
        RAISE EXCEPTION 'model "%" has no version %', activate.name, activate.version
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Its versions: %s.', (SELECT string_agg(m.version::text, ', ' ORDER BY m.version)
                                                       FROM recsys.recsys_models m WHERE m.name = activate.name));
    END IF;
    SELECT m.version INTO previous FROM recsys.recsys_models m WHERE m.name = activate.name AND m.active;
    IF previous IS DISTINCT FROM activate.version THEN
        UPDATE recsys.recsys_models m SET active = false WHERE m.name = activate.name AND m.active;
        UPDATE recsys.recsys_models m SET active = true WHERE m.name = activate.name AND m.version = activate.version;
    END IF;
    RETURN jsonb_build_object('name', activate.name, 'version', activate.version, 'previous_version', previous);
END
$$;
COMMENT ON FUNCTION activate(text, bigint) IS
    'Makes a stored version of a model the active (served) one, e.g. to roll back a retrain.';

-- A promotion rule: '<metric>@<k> >= active [+|- margin]' (or >).
CREATE FUNCTION recsys_parse_promote_if(rule text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    parts text[];
BEGIN
    parts := regexp_match(lower(rule),
        '^\s*(precision|recall|ndcg|map|hit_rate)@([0-9]{1,4})\s*(>=|>)\s*active\s*(?:([-+])\s*([0-9]*\.?[0-9]+))?\s*$');
    IF parts IS NULL OR parts[2]::integer < 1 THEN
        RAISE EXCEPTION 'cannot read the promotion rule "%"', rule USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Write <metric>@<k> >= active [- margin], e.g. ''ndcg@10 >= active - 0.005''; metrics: '
                   'precision, recall, ndcg, map, hit_rate.';
    END IF;
    RETURN jsonb_build_object('metric', parts[1], 'k', parts[2]::integer, 'strict', parts[3] = '>',
                              'margin', CASE WHEN parts[4] = '-' THEN -parts[5]::float8
                                             ELSE coalesce(parts[5]::float8, 0) END);
END
$$;
COMMENT ON FUNCTION recsys_parse_promote_if(text) IS
    'Reads a promotion rule such as ''ndcg@10 >= active - 0.005'' into jsonb (used by retrain).';

-- The promotion arguments retrain() and update_model() share, checked
-- before any work: promote_if needs a holdout, keep at least 1. Returns the
-- parsed rule, or NULL without promote_if.
CREATE FUNCTION recsys_check_promotion(promote_if text, holdout text, keep integer, holdout_hint text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF promote_if IS NOT NULL AND holdout IS NULL THEN
        RAISE EXCEPTION 'promote_if needs a holdout query to evaluate on' USING ERRCODE = 'invalid_parameter_value',
            HINT = holdout_hint;
    END IF;
    IF keep IS NOT NULL AND keep < 1 THEN
        RAISE EXCEPTION 'keep must be at least 1, got %', keep USING ERRCODE = 'invalid_parameter_value',
            HINT = 'keep => n keeps the n most recent versions and the active one.';
    END IF;
    RETURN CASE WHEN promote_if IS NOT NULL THEN recsys.recsys_parse_promote_if(promote_if) END;
END
$$;

-- Whether a new version's score passes a parsed promotion rule against the
-- active version's (no active score: it passes; no new score: it fails).
CREATE FUNCTION recsys_promotes(rule jsonb, old_score float8, new_score float8) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT CASE WHEN old_score IS NULL THEN true
                WHEN new_score IS NULL THEN false
                WHEN (rule ->> 'strict')::boolean THEN new_score > old_score + (rule ->> 'margin')::float8
                ELSE new_score >= old_score + (rule ->> 'margin')::float8 END
$$;

-- retrain(): the recipe's queries run with the rights of retrain's caller
-- (nothing here is SECURITY DEFINER) and are parsed with the search_path
-- they were written with; the holdout query is the caller's, parsed with the
-- caller's path. A recipe is run only for a caller whose every right its
-- writer has too (the writer is a member of the caller's role, or the same
-- role): otherwise a role could plant SQL for a more privileged one to run.
CREATE FUNCTION recsys_retrain_with_path(name text, promote_if text, holdout text, keep integer, search_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    model_owner name;
    old_version bigint;
    new_version bigint;
    recipe jsonb;
    writer text;
    rule jsonb;
    metric_name text;
    k integer := 10;
    holdout_source text;
    old_eval jsonb;
    new_eval jsonb;
    old_score double precision;
    new_score double precision;
    bar double precision;
    promoted boolean := true;
    outcome jsonb;
BEGIN
    IF recsys_retrain_with_path.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a model trained by train(), train_distributed(), train_ranker(), train_timing() or tune().';
    END IF;
    rule := recsys.recsys_check_promotion(promote_if, holdout, keep,
        'Pass holdout => a query of (user_id, item_id) rows the recipe''s query leaves out, e.g. the last week''s purchases.');
    IF rule IS NOT NULL THEN
        metric_name := rule ->> 'metric';
        k := (rule ->> 'k')::integer;
    END IF;
    IF NOT has_column_privilege('recsys.recsys_models', 'recipe', 'SELECT') THEN
        RAISE EXCEPTION 'permission denied to retrain models: role "%" may not read recipes', CURRENT_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Ask an administrator to GRANT recsys_trainer TO ' || quote_ident(CURRENT_USER) || ';';
    END IF;
    SELECT m.owner, m.version, m.recipe INTO model_owner, old_version, recipe
      FROM recsys.recsys_models m WHERE m.name = recsys_retrain_with_path.name AND m.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', recsys_retrain_with_path.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    PERFORM recsys.recsys_check_can_store(recsys_retrain_with_path.name);
    IF recipe IS NULL OR NOT recipe ? 'kind' THEN
        RAISE EXCEPTION 'model "%" (version %) has no recipe to retrain it from', recsys_retrain_with_path.name, old_version
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'It was stored by save_model() or before recipes existed: train it once with train(), train_distributed(), '
                         'train_ranker(), train_timing() or tune(); retrain() then repeats that.';
    END IF;
    writer := recipe ->> 'role';
    IF writer IS NULL OR NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = writer)
       OR NOT pg_has_role(writer::name, CURRENT_USER, 'USAGE') THEN
        RAISE EXCEPTION 'the recipe of model "%" was written by role %, which lacks some rights of role "%"',
                        recsys_retrain_with_path.name, coalesce(quote_ident(writer), '(unknown)'), CURRENT_USER
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'retrain() runs the recipe''s queries with its caller''s rights, so only for a caller whose '
                         'rights the recipe''s writer has too: retrain as that role (SET ROLE), or train the model '
                         'again yourself to make the recipe yours.';
    END IF;

    IF holdout IS NOT NULL THEN
        holdout_source := recsys.recsys_query_body(holdout);
        IF promote_if IS NOT NULL THEN
            -- the active version, on the same rows as the new one
            old_eval := recsys.recsys_evaluate(recsys_retrain_with_path.name, holdout_source, k,
                                               recsys_retrain_with_path.search_path);
            old_score := (old_eval -> 'all' ->> metric_name)::double precision;
        END IF;
    END IF;

    CASE recipe ->> 'kind'
    WHEN 'train' THEN
        PERFORM recsys.recsys_train_with_path(recsys_retrain_with_path.name, recipe ->> 'algorithm', recipe ->> 'query',
                                              recipe -> 'params', recipe ->> 'search_path');
    WHEN 'train_distributed' THEN
        PERFORM recsys.train_distributed(recsys_retrain_with_path.name, recipe ->> 'algorithm',
                                         (recipe ->> 'purchases')::regclass, recipe ->> 'user_column',
                                         recipe ->> 'item_column', recipe ->> 'weight_column', recipe -> 'params');
    WHEN 'train_ranker', 'train_timing' THEN
        PERFORM recsys.recsys_train_from_purchases(substr(recipe ->> 'kind', 7), recsys_retrain_with_path.name,
                                                   recipe ->> 'purchases_query', recipe ->> 'items_query',
                                                   recipe -> 'params', recipe ->> 'search_path');
    WHEN 'tune' THEN
        PERFORM FROM recsys.recsys_tune_with_path(
            recsys_retrain_with_path.name, recipe ->> 'query',
            CASE WHEN jsonb_typeof(recipe -> 'algorithms') = 'array'
                 THEN ARRAY(SELECT jsonb_array_elements_text(recipe -> 'algorithms')) END,
            recipe ->> 'metric', (recipe ->> 'budget')::interval, (recipe ->> 'max_candidates')::integer,
            CASE WHEN jsonb_typeof(recipe -> 'search_space') = 'object' THEN recipe -> 'search_space' END,
            recipe ->> 'search', (recipe ->> 'seed')::bigint, (recipe ->> 'validation_fraction')::float8,
            (recipe ->> 'min_improvement')::float8, coalesce((recipe ->> 'blend')::boolean, true),
            recipe ->> 'search_path');
    ELSE
        RAISE EXCEPTION 'model "%" has a recipe of unknown kind "%"', recsys_retrain_with_path.name, recipe ->> 'kind'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Train it again with train(), train_distributed(), train_ranker(), train_timing() or tune().';
    END CASE;
    SELECT m.version INTO new_version FROM recsys.recsys_models m
     WHERE m.name = recsys_retrain_with_path.name AND m.active;

    outcome := jsonb_build_object('retrained_from', old_version, 'activated', true);
    IF holdout IS NOT NULL THEN
        new_eval := recsys.recsys_evaluate(recsys_retrain_with_path.name, holdout_source, k,
                                           recsys_retrain_with_path.search_path);
        IF promote_if IS NOT NULL THEN
            new_score := (new_eval -> 'all' ->> metric_name)::double precision;
            bar := old_score + (rule ->> 'margin')::float8;
            promoted := recsys.recsys_promotes(rule, old_score, new_score);
            outcome := jsonb_build_object('retrained_from', old_version, 'activated', promoted, 'rule', promote_if,
                                          'score', new_score, 'active_score', old_score, 'bar', bar);
        END IF;
        UPDATE recsys.recsys_models m
           SET metrics = coalesce(m.metrics, '{}') || new_eval || jsonb_build_object('retrain', outcome)
         WHERE m.name = recsys_retrain_with_path.name AND m.version = new_version;
    ELSE
        UPDATE recsys.recsys_models m SET metrics = coalesce(m.metrics, '{}') || jsonb_build_object('retrain', outcome)
         WHERE m.name = recsys_retrain_with_path.name AND m.version = new_version;
    END IF;
    IF NOT promoted THEN
        PERFORM recsys.activate(recsys_retrain_with_path.name, old_version);
        RAISE NOTICE 'retrain: version % of "%" not activated: % = % is below the bar % (rule %); version % stays active',
                     new_version, recsys_retrain_with_path.name, metric_name || '@' || k, round(new_score::numeric, 4),
                     round(bar::numeric, 4), promote_if, old_version;
    END IF;
    IF keep IS NOT NULL THEN
        PERFORM recsys.drop_model(recsys_retrain_with_path.name, keep => keep);
    END IF;
    RETURN jsonb_build_object('name', recsys_retrain_with_path.name, 'version', new_version,
                              'active_version', CASE WHEN promoted THEN new_version ELSE old_version END) || outcome;
END
$$;
COMMENT ON FUNCTION recsys_retrain_with_path(text, text, text, integer, text) IS
    'retrain() with the search_path to parse the caller''s holdout query with.';

CREATE FUNCTION retrain(name text, promote_if text DEFAULT NULL, holdout text DEFAULT NULL, keep integer DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT recsys.recsys_retrain_with_path($1, $2, $3, $4, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION retrain(text, text, text, integer) IS
    'Runs a model''s recipe (train, train_ranker or tune) again on the current data and stores a new version; with promote_if and a holdout query, activates it only if the rule holds.';

------------------------------------------------------------------------------
-- update_model(): a new version from the active one plus new rows, without
-- re-reading the training data (core: update.h). The new rows' query runs
-- with the caller's rights, parsed with the caller's search_path; the new
-- version keeps the active one's recipe (retrain() still runs it on all the
-- data) and records what the update did in its metrics.
------------------------------------------------------------------------------
-- trained_with: the recipe's parameters (NULL if unknown), so that a
-- parameter derived from the data (ease's max_items) is derived again.
CREATE FUNCTION recsys_update_rows(name text, query text, params jsonb, search_path text, trained_with jsonb,
                                   OUT model bytea, OUT summary jsonb)
    AS 'MODULE_PATHNAME', 'recsys_update_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION recsys_update_rows(text, text, jsonb, text, jsonb) IS
    'The active version of a model updated with the rows of a query (user_id, item_id, weight), as a new model bytea and a summary (used by update_model).';

CREATE FUNCTION recsys_update_model_with_path(name text, query text, params jsonb, promote_if text, holdout text,
                                              keep integer, search_path text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    old_version bigint;
    recipe jsonb;
    source text;
    columns text[];
    wrapped text;
    started timestamptz;
    summary jsonb;
    stored jsonb;
    new_version bigint;
    rule jsonb;
    metric_name text;
    k integer := 10;
    holdout_source text;
    old_score double precision;
    new_score double precision;
    new_eval jsonb;
    bar double precision;
    promoted boolean := true;
    outcome jsonb;
BEGIN
    IF recsys_update_model_with_path.name IS NULL OR query IS NULL THEN
        RAISE EXCEPTION 'name and query must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'e.g. update_model(''shop'', ''SELECT customer_id AS user_id, stock_code AS item_id FROM purchases '
                   'WHERE bought >= current_date - 1'').';
    END IF;
    IF params IS NOT NULL AND jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a jsonb object, got %', jsonb_typeof(params)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. ''{"decay": 0.9}'', or ''{}'' for the defaults.';
    END IF;
    rule := recsys.recsys_check_promotion(promote_if, holdout, keep,
        'Pass holdout => a query of (user_id, item_id) rows neither the model nor the new rows hold.');
    IF rule IS NOT NULL THEN
        metric_name := rule ->> 'metric';
        k := (rule ->> 'k')::integer;
    END IF;
    PERFORM recsys.recsys_check_can_store(recsys_update_model_with_path.name);
    -- One change of the name at a time: a concurrent update waits and then
    -- starts from this one's version, so no new rows are lost.
    PERFORM recsys.recsys_lock_model(recsys_update_model_with_path.name);
    SELECT m.version INTO old_version FROM recsys.recsys_models m
     WHERE m.name = recsys_update_model_with_path.name AND m.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', recsys_update_model_with_path.name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Train it first with train(); update_model adds new rows to a stored model.';
    END IF;
    IF has_column_privilege('recsys.recsys_models', 'recipe', 'SELECT') THEN
        SELECT m.recipe INTO recipe FROM recsys.recsys_models m
         WHERE m.name = recsys_update_model_with_path.name AND m.version = old_version;
    END IF;
    source := recsys.recsys_query_body(query);
    columns := recsys.recsys_query_columns(source, recsys_update_model_with_path.search_path);
    IF NOT ('user_id' = ANY (columns) AND 'item_id' = ANY (columns)) THEN
        RAISE EXCEPTION 'the query of new rows must return columns named user_id and item_id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('It returns: %s. Rename them with AS, e.g. SELECT customer_id AS user_id, '
                                'stock_code AS item_id FROM purchases WHERE ...', array_to_string(columns, ', '));
    END IF;
    wrapped := format('SELECT q.user_id, q.item_id, %s AS weight FROM (%s) AS q',
                      CASE WHEN 'weight' = ANY (columns) THEN 'q.weight::pg_catalog.float8' ELSE '1.0::pg_catalog.float8' END,
                      source);
    IF holdout IS NOT NULL THEN
        holdout_source := recsys.recsys_query_body(holdout);
        IF promote_if IS NOT NULL THEN
            old_score := (recsys.recsys_evaluate(recsys_update_model_with_path.name, holdout_source, k,
                                                 recsys_update_model_with_path.search_path) -> 'all' ->> metric_name)::double precision;
        END IF;
    END IF;

    -- The new model goes from the C call into the store in one statement,
    -- as train()'s does: by reference, not through a set-returning
    -- function's tuplestore or a PL/pgSQL variable, each a copy of its bytes
    -- (OFFSET 0: the call runs once, not once per field).
    started := clock_timestamp();
    SELECT recsys.recsys_store_model(recsys_update_model_with_path.name, (u.r).model,
                                     extract(epoch FROM clock_timestamp() - started)::float8, recipe),
           (u.r).summary
      INTO stored, summary
      FROM (SELECT recsys.recsys_update_rows(recsys_update_model_with_path.name, wrapped, coalesce(params, '{}'),
                                             recsys_update_model_with_path.search_path,
                                             CASE WHEN recipe ->> 'kind' IN ('train', 'train_distributed')
                                                  THEN recipe -> 'params' END) AS r OFFSET 0) u;
    new_version := (stored ->> 'version')::bigint;

    outcome := jsonb_build_object('updated_from', old_version, 'activated', true) || summary;
    IF holdout IS NOT NULL THEN
        new_eval := recsys.recsys_evaluate(recsys_update_model_with_path.name, holdout_source, k,
                                           recsys_update_model_with_path.search_path);
        IF promote_if IS NOT NULL THEN
            new_score := (new_eval -> 'all' ->> metric_name)::double precision;
            bar := old_score + (rule ->> 'margin')::float8;
            promoted := recsys.recsys_promotes(rule, old_score, new_score);
            outcome := outcome || jsonb_build_object('activated', promoted, 'rule', promote_if, 'score', new_score,
                                                     'active_score', old_score, 'bar', bar);
        END IF;
    END IF;
    UPDATE recsys.recsys_models m
       SET metrics = coalesce(m.metrics, '{}') || coalesce(new_eval, '{}') || jsonb_build_object('update', outcome)
     WHERE m.name = recsys_update_model_with_path.name AND m.version = new_version;
    IF NOT promoted THEN
        PERFORM recsys.activate(recsys_update_model_with_path.name, old_version);
        RAISE NOTICE 'update_model: version % of "%" not activated: % = % is below the bar % (rule %); version % stays active',
                     new_version, recsys_update_model_with_path.name, metric_name || '@' || k,
                     round(new_score::numeric, 4), round(bar::numeric, 4), promote_if, old_version;
    END IF;
    IF keep IS NOT NULL THEN
        PERFORM recsys.drop_model(recsys_update_model_with_path.name, keep => keep);
    END IF;
    RETURN jsonb_build_object('name', recsys_update_model_with_path.name, 'version', new_version,
                              'active_version', CASE WHEN promoted THEN new_version ELSE old_version END,
                              'train_seconds', stored -> 'train_seconds', 'users', stored -> 'users',
                              'items', stored -> 'items', 'interactions', stored -> 'interactions') || outcome;
END
$$;
COMMENT ON FUNCTION recsys_update_model_with_path(text, text, jsonb, text, text, integer, text) IS
    'update_model() with the search_path to parse the caller''s queries with.';

CREATE FUNCTION update_model(name text, query text, params jsonb DEFAULT '{}', promote_if text DEFAULT NULL,
                             holdout text DEFAULT NULL, keep integer DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT recsys.recsys_update_model_with_path($1, $2, $3, $4, $5, $6, pg_catalog.current_setting('search_path')) $$;
COMMENT ON FUNCTION update_model(text, text, jsonb, text, text, integer) IS
    'Stores a new version of a model: the active one plus the rows of a query (user_id, item_id [, weight]), without re-reading the training data; exact for popularity, itemknn, rp3beta and ease, approximate for als and bpr. With promote_if and a holdout query, activates it only if the rule holds.';
