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
