------------------------------------------------------------------------------
-- The model store: who may change a model (row-level security), and storing,
-- describing and dropping models. The table itself: store_table.sql.
------------------------------------------------------------------------------
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
-- A new model belongs to its trainer; a new version of a model keeps the
-- model's owner, so whoever may change the model may add it.
CREATE POLICY add_own_models ON recsys_models FOR INSERT
    WITH CHECK (owner = CURRENT_USER OR recsys.recsys_may_change(owner));
CREATE POLICY change_own_models ON recsys_models FOR UPDATE
    USING (recsys.recsys_may_change(owner)) WITH CHECK (recsys.recsys_may_change(owner));
CREATE POLICY drop_own_models ON recsys_models FOR DELETE USING (recsys.recsys_may_change(owner));

-- Readers see everything but the model bytes, which embed every user's
-- purchase history; serving reads them on the reader's behalf after checking
-- that the reader may see the row.
GRANT SELECT (name, owner, version, algorithm, params, created_at, n_users, n_items, n_interactions, train_seconds,
              metrics, model_bytes, active) ON recsys_models TO recsys_reader;
-- Recipes hold the training queries: trainers read them (retrain does).
GRANT SELECT (recipe) ON recsys_models TO recsys_trainer;
GRANT INSERT, UPDATE, DELETE ON recsys_models TO recsys_trainer;
GRANT USAGE ON SEQUENCE recsys_model_versions TO recsys_trainer;
GRANT SELECT ON recsys_models TO recsys_admin;

-- A recipe says who wrote it: retrain() runs its queries with the rights of
-- its caller, and so only for a caller whose rights the writer has too. The
-- writer is stamped here, whichever way the row is written, so that it
-- cannot be forged; a superuser's own stamp is kept (pg_restore, upgrades).
CREATE FUNCTION recsys_stamp_recipe() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF NEW.recipe IS NOT NULL AND jsonb_typeof(NEW.recipe) <> 'object' THEN
        RAISE EXCEPTION 'a recipe must be a jsonb object, got %', jsonb_typeof(NEW.recipe)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Recipes are written by train(), train_ranker() and tune().';
    END IF;
    IF NEW.recipe IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.recipe IS DISTINCT FROM OLD.recipe)
       AND NOT (NEW.recipe ? 'role' AND coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = CURRENT_USER), false))
    THEN
        NEW.recipe := NEW.recipe || jsonb_build_object('role', CURRENT_USER);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION recsys_stamp_recipe() IS 'Trigger: stamps a model''s recipe with the role that wrote it.';
CREATE TRIGGER recsys_models_recipe BEFORE INSERT OR UPDATE OF recipe ON recsys_models
    FOR EACH ROW EXECUTE FUNCTION recsys_stamp_recipe();

-- Serving backends keep decoded models and the versions they found active,
-- and read the store again only once told it changed (model_cache.cpp): by
-- this trigger, after every statement that writes it.
CREATE FUNCTION recsys_invalidate_cache() RETURNS trigger
    AS 'MODULE_PATHNAME', 'recsys_invalidate_cache' LANGUAGE C;
COMMENT ON FUNCTION recsys_invalidate_cache() IS
    'Trigger: tells every serving backend that the model store changed.';
CREATE TRIGGER recsys_models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON recsys_models
    FOR EACH STATEMENT EXECUTE FUNCTION recsys_invalidate_cache();

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

CREATE FUNCTION describe_model(model bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION describe_model(bytea) IS 'Validates a model bytea and describes it as jsonb.';

CREATE FUNCTION recsys_describe_stored(name text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_stored' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION recsys_describe_stored(text) IS 'Describes a stored model the current role may read (used by describe_model).';

-- Stores a model as a new version of `name`, made the active one (served)
-- in the same transaction: readers see the old version or the new one. The
-- versions of a name keep the owner of its first; one change of a name at a
-- time (an advisory lock per name, held to the end of the transaction).
CREATE FUNCTION recsys_store_model(name text, model bytea, train_seconds double precision, recipe jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
#variable_conflict use_column
DECLARE
    info jsonb;
    model_owner name;
    new_version bigint;
BEGIN
    PERFORM recsys.recsys_check_can_store(recsys_store_model.name);
    IF recsys_store_model.model IS NULL THEN
        RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Did the training query return no rows?';
    END IF;
    info := recsys.describe_model(recsys_store_model.model);
    PERFORM recsys.recsys_lock_model(recsys_store_model.name);
    PERFORM recsys.recsys_check_can_store(recsys_store_model.name);  -- as changed by whoever held the lock
    SELECT m.owner INTO model_owner FROM recsys.recsys_models m WHERE m.name = recsys_store_model.name LIMIT 1;
    new_version := nextval('recsys.recsys_model_versions');
    UPDATE recsys.recsys_models m SET active = false WHERE m.name = recsys_store_model.name AND m.active;
    INSERT INTO recsys.recsys_models
           (name, owner, version, algorithm, params, n_users, n_items, n_interactions, train_seconds, model_bytes, model,
            active, recipe)
    VALUES (recsys_store_model.name, coalesce(model_owner, CURRENT_USER), new_version, info->>'algorithm', info->'params',
            (info->>'users')::bigint, (info->>'items')::bigint, (info->>'interactions')::bigint,
            recsys_store_model.train_seconds, octet_length(recsys_store_model.model), recsys_store_model.model,
            true, recsys_store_model.recipe);
    RETURN jsonb_build_object('name', recsys_store_model.name, 'version', new_version,
                              'train_seconds', recsys_store_model.train_seconds) || info;
END
$$;
COMMENT ON FUNCTION recsys_store_model(text, bytea, double precision, jsonb) IS
    'Stores a model bytea with its recipe as the new active version of a name (used by save_model, train and tune).';

-- Serialises changes of one name's versions (store, activate, drop) until
-- the end of the transaction.
CREATE FUNCTION recsys_lock_model(name text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT pg_advisory_xact_lock(hashtext('recsys model ' || name)::bigint)
$$;
COMMENT ON FUNCTION recsys_lock_model(text) IS 'Takes the transaction lock that serialises changes of a model''s versions.';

CREATE FUNCTION save_model(name text, model bytea, train_seconds double precision DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT recsys.recsys_store_model(name, model, train_seconds, NULL)
$$;
COMMENT ON FUNCTION save_model(text, bytea, double precision) IS
    'Stores a model bytea (e.g. from recsys_train) as the new active version of a name the caller may change (no recipe: retrain() cannot repeat it).';
CREATE FUNCTION describe_model(name text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    result jsonb;
BEGIN
    IF describe_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a stored model; list them with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    SELECT jsonb_build_object('name', m.name, 'owner', m.owner, 'version', m.version, 'created_at', m.created_at,
                              'train_seconds', m.train_seconds, 'metrics', m.metrics, 'bytes', m.model_bytes)
      INTO result FROM recsys.recsys_models m WHERE m.name = describe_model.name AND m.active;
    IF result IS NULL THEN
        RAISE EXCEPTION 'model "%" does not exist', describe_model.name USING ERRCODE = 'invalid_parameter_value',
            HINT = 'List the trained models with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    RETURN result || recsys.recsys_describe_stored(describe_model.name);
END
$$;
COMMENT ON FUNCTION describe_model(text) IS 'Describes a stored model as jsonb.';

-- Without keep: the model, every version. With keep => n: only the versions
-- but the n most recent and the active one.
CREATE FUNCTION drop_model(name text, if_exists boolean DEFAULT false, keep integer DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    current_owner name;
BEGIN
    IF drop_model.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the name of a stored model; list them with SELECT * FROM recsys.recsys_list_models();';
    END IF;
    IF drop_model.keep IS NOT NULL AND drop_model.keep < 1 THEN
        RAISE EXCEPTION 'keep must be at least 1, got %', drop_model.keep USING ERRCODE = 'invalid_parameter_value',
            HINT = 'keep => n keeps the n most recent versions and the active one; to drop every version leave keep out.';
    END IF;
    PERFORM recsys.recsys_lock_model(drop_model.name);
    SELECT m.owner INTO current_owner FROM recsys.recsys_models m WHERE m.name = drop_model.name LIMIT 1;
    IF FOUND AND NOT recsys.recsys_may_change(current_owner) THEN
        RAISE EXCEPTION 'model "%" belongs to role "%"', drop_model.name, current_owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Only members of %s or of recsys_admin may drop it.', quote_ident(current_owner));
    END IF;
    IF NOT FOUND THEN
        IF NOT coalesce(drop_model.if_exists, false) THEN
            RAISE EXCEPTION 'model "%" does not exist', drop_model.name USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass if_exists => true to ignore a missing model.';
        END IF;
        RETURN false;
    END IF;
    IF drop_model.keep IS NULL THEN
        DELETE FROM recsys.recsys_models m WHERE m.name = drop_model.name;
    ELSE
        DELETE FROM recsys.recsys_models m
         WHERE m.name = drop_model.name AND NOT m.active
           AND m.version < (SELECT min(r.version) FROM (SELECT v.version FROM recsys.recsys_models v
                                                        WHERE v.name = drop_model.name
                                                        ORDER BY v.version DESC LIMIT drop_model.keep) r);
    END IF;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION drop_model(text, boolean, integer) IS
    'Deletes a stored model the caller may change (every version), or with keep => n its versions but the n most recent and the active one; true if any was deleted.';

CREATE FUNCTION recsys_list_models()
RETURNS TABLE (name text, algorithm text, params jsonb, created_at timestamptz, n_users bigint, n_items bigint,
               n_interactions bigint, train_seconds double precision, model_bytes integer, metrics jsonb, owner name)
LANGUAGE sql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
    SELECT m.name, m.algorithm, m.params, m.created_at, m.n_users, m.n_items, m.n_interactions, m.train_seconds,
           m.model_bytes, m.metrics, m.owner
      FROM recsys.recsys_models m WHERE m.active ORDER BY m.name
$$;
COMMENT ON FUNCTION recsys_list_models() IS 'The stored models (their active versions), without their bytes.';
