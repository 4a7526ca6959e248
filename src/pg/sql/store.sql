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

CREATE FUNCTION describe_model(model bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION describe_model(bytea) IS 'Validates a model bytea and describes it as jsonb.';

CREATE FUNCTION recsys_describe_stored(name text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_describe_stored' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION recsys_describe_stored(text) IS 'Describes a stored model the current role may read (used by describe_model).';

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
