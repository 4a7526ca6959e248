------------------------------------------------------------------------------
-- Scaling out with Citus (README, "Scaling out with Citus"): the model store
-- as a reference table, a copy on every node, so that recommend() runs
-- wherever Citus sends a query. Serving reads the copy on its own node
-- (src/pg/model_cache.cpp).
------------------------------------------------------------------------------
CREATE FUNCTION distribute_store() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = 'feature_not_supported',
            HINT = 'On the coordinator: CREATE EXTENSION citus; register the workers with citus_add_node(), then call '
                   'recsys.distribute_store() again.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
               WHERE p.logicalrelid = 'recsys.recsys_models'::regclass AND p.partmethod = 'n') THEN
        RETURN 'recsys.recsys_models is already a reference table';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = 'recsys.recsys_models'::regclass) THEN
        RAISE EXCEPTION 'recsys.recsys_models is distributed, but not as a reference table'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Undo it with SELECT undistribute_table(''recsys.recsys_models''); then call distribute_store() again.';
    END IF;
    -- The trigger that stamps a recipe's writer (store.sql) fires on each
    -- copy, in the writer's own session on that node: every copy gets the
    -- same stamp. Citus distrusts triggers on its tables unless told.
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    EXECUTE 'SELECT pg_catalog.create_reference_table(''recsys.recsys_models'')';
    RETURN 'recsys.recsys_models is now a reference table: every node serves the models';
END
$$;
COMMENT ON FUNCTION distribute_store() IS
    'On a Citus coordinator: makes the model store a reference table (a copy on every node), so recommend() runs on workers.';

------------------------------------------------------------------------------
-- Training over a table distributed by user (README, "Scaling out with
-- Citus"; DESIGN.md): each shard's rows are built where the shard is
-- (recsys_train_shard, recsys_train's rows encoded compactly) and only that
-- crosses the network; the coordinator merges the shards' parts and trains
-- (recsys_train_shards): the single-node model, byte for byte.
------------------------------------------------------------------------------
CREATE FUNCTION recsys_train_shard_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_train_shard_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE recsys_train_shard(algorithm text, user_id "any", item_id "any", weight float8) (
    SFUNC = recsys_train_transition, STYPE = internal, FINALFUNC = recsys_train_shard_final,
    COMBINEFUNC = recsys_train_combine, SERIALFUNC = recsys_train_serialize,
    DESERIALFUNC = recsys_train_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE recsys_train_shard(text, "any", "any", float8) IS
    'One shard''s (user_id, item_id, weight) rows, built and encoded for recsys_train_shards (used by train_distributed).';

CREATE FUNCTION recsys_train_shards_transition(internal, text, bytea, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_train_shards_transition' LANGUAGE C;
CREATE FUNCTION recsys_train_shards_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_train_shards_final' LANGUAGE C;
CREATE AGGREGATE recsys_train_shards(algorithm text, shard_state bytea, params jsonb) (
    SFUNC = recsys_train_shards_transition, STYPE = internal, FINALFUNC = recsys_train_shards_final,
    FINALFUNC_MODIFY = READ_WRITE);
COMMENT ON AGGREGATE recsys_train_shards(text, bytea, jsonb) IS
    'Merges the shards'' parts from recsys_train_shard and trains a model on them; returns the model as bytea.';

-- The command run_command_on_shards runs on each shard of `purchases` (its
-- "%s" is the shard), after the checks that need no data: Citus is there,
-- the table is distributed by the user column (each user's rows in one
-- shard), the columns exist and the caller may read them.
CREATE FUNCTION recsys_shard_command(algorithm text, purchases regclass, user_column text, item_column text,
                                     weight_column text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    distribution_column text;
    col text;
BEGIN
    IF algorithm IS NULL OR purchases IS NULL OR user_column IS NULL OR item_column IS NULL THEN
        RAISE EXCEPTION 'algorithm, purchases, user_column and item_column must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'e.g. train_distributed(''shop'', ''itemknn'', ''purchases'', ''customer_id'', ''stock_code'').';
    END IF;
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = 'feature_not_supported',
            HINT = 'train_distributed() trains over a Citus distributed table; use train() for any other query.';
    END IF;
    SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) INTO distribution_column
      FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = purchases AND p.partmethod = 'h';
    IF distribution_column IS DISTINCT FROM user_column THEN
        RAISE EXCEPTION '% is not distributed by its user column %', purchases, quote_ident(user_column)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Each user''s rows must be in one shard: SELECT create_distributed_table(%L, %L); '
                                'or train with train(), which reads any query.', purchases::text, user_column);
    END IF;
    FOREACH col IN ARRAY ARRAY[user_column, item_column, weight_column] LOOP
        CONTINUE WHEN col IS NULL;
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = purchases AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of % does not exist', quote_ident(col), purchases
                USING ERRCODE = 'undefined_column', HINT = 'Name the columns as they are in the table.';
        END IF;
        IF NOT has_column_privilege(purchases, col, 'SELECT') THEN
            RAISE EXCEPTION 'permission denied to read column % of %', quote_ident(col), purchases
                USING ERRCODE = 'insufficient_privilege', HINT = 'Ask its owner to GRANT SELECT on it to you.';
        END IF;
    END LOOP;
    -- Citus fills "%s" in with format(): any other "%" is doubled.
    RETURN replace(format('SELECT pg_catalog.encode(recsys.recsys_train_shard(%L, t.%I, t.%I, %s), ''base64'') FROM ',
                          algorithm, user_column, item_column,
                          CASE WHEN weight_column IS NULL THEN '1.0::pg_catalog.float8'
                               ELSE format('t.%I::pg_catalog.float8', weight_column) END), '%', '%%')
           || '%s t';
END
$$;
COMMENT ON FUNCTION recsys_shard_command(text, regclass, text, text, text) IS
    'The per-shard command of train_distributed (checked: Citus, distributed by the user column, columns readable).';

-- A run_command_on_shards result: the shard's part, or its error raised.
CREATE FUNCTION recsys_shard_result(shardid bigint, success boolean, result text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, recsys, pg_temp AS $$
BEGIN
    IF success IS NOT TRUE THEN
        RAISE EXCEPTION 'training on shard % failed: %', shardid,
                        coalesce(regexp_replace(result, '^ERROR:\s+', ''), '(no message)')
            USING ERRCODE = 'external_routine_exception';
    END IF;
    RETURN decode(result, 'base64');
END
$$;
COMMENT ON FUNCTION recsys_shard_result(bigint, boolean, text) IS
    'The shard part a run_command_on_shards row carries, or its error (used by train_distributed).';

CREATE FUNCTION train_distributed(name text, algorithm text, purchases regclass, user_column text, item_column text,
                                  weight_column text DEFAULT NULL, params jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, recsys, pg_temp AS $$
DECLARE
    params_ constant jsonb := coalesce(params, '{}');
    command text;
    stored jsonb;
BEGIN
    PERFORM recsys.recsys_check_can_store(name);
    command := recsys.recsys_shard_command(algorithm, purchases, user_column, item_column, weight_column);
    PERFORM recsys.recsys_check_params(algorithm, params_);
    -- As in train(): the model goes from the aggregate straight into the store.
    EXECUTE 'SELECT CASE WHEN t.model IS NULL THEN NULL ELSE recsys.recsys_store_model($3, t.model, '
            'pg_catalog.date_part(''epoch'', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) $4), $5) END '
            'FROM (SELECT recsys.recsys_train_shards($1, recsys.recsys_shard_result(r.shardid, r.success, r.result), $2) '
            'AS model FROM pg_catalog.run_command_on_shards($6, $7) AS r) AS t'
      INTO stored
      USING algorithm, params_, name, clock_timestamp(),
            jsonb_build_object('kind', 'train_distributed', 'algorithm', algorithm, 'params', params_,
                               'purchases', purchases::text, 'user_column', user_column,
                               'item_column', item_column, 'weight_column', weight_column),
            purchases, command;
    IF stored IS NULL THEN
        RAISE EXCEPTION '% has no shards', purchases USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Distribute it first: SELECT create_distributed_table(table, user column).';
    END IF;
    RETURN stored;
END
$$;
COMMENT ON FUNCTION train_distributed(text, text, regclass, text, text, text, jsonb) IS
    'Trains a model over a Citus table distributed by user, each shard''s rows built on its worker, and stores it.';
