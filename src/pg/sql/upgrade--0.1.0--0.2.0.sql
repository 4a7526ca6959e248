-- recsys 0.1.0 -> 0.2.0: the prologue of the upgrade script. The Makefile
-- appends the files that create the roles, the store's policies and grants,
-- and every function (roles.sql, store.sql, train.sql, ... as listed in
-- SQL_SHARED), the same files the install script is made of.
--
-- 0.1.0 lived in the schema it was created in (usually public), with
-- unpinned functions; 0.2.0 lives in schema recsys. ALTER EXTENSION UPDATE
-- runs this script as a superuser with search_path set to the old schema,
-- which @extschema@ names. This prologue brings what 0.1.0 left to the shape
-- a fresh CREATE EXTENSION gives, keeping the stored models:
--   1. drops the trigger and every 0.1.0 function and aggregate: their
--      bodies and signatures are 0.1.0's, and the files that follow create
--      0.2.0's in recsys;
--   2. creates schema recsys (unless it exists) and makes it the extension's
--      schema;
--   3. moves the model table into recsys and adds the columns owner,
--      version, model_bytes, active and recipe, filled for the models
--      already stored (each its name's one active version);
--   4. sets search_path to recsys for the files that follow.
\echo Use "ALTER EXTENSION recsys UPDATE TO '0.2.0'" to load this file. \quit

-- Until step 4, nothing is looked up in the old schema (where any role may
-- have been able to create objects): it is named where meant. LOCAL: the
-- path is restored when this script ends.
SET LOCAL search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------------
-- 1. The 0.1.0 objects that are not kept. The trigger goes first: its C
-- function is not in the 0.2.0 library (store.sql creates 0.2.0's trigger,
-- which calls recsys_invalidate_cache()). Everything is qualified: the old
-- schema may be anything.
------------------------------------------------------------------------------
DROP TRIGGER recsys_models_changed ON @extschema@.recsys_models;
DROP FUNCTION @extschema@.recsys_models_changed();

-- training (aggregates before their support functions)
DROP AGGREGATE @extschema@.recsys_train(text, "any", "any"),
               @extschema@.recsys_train(text, "any", "any", float8),
               @extschema@.recsys_train(text, "any", "any", float8, jsonb);
DROP FUNCTION @extschema@.recsys_train_transition(internal, text, "any", "any"),
              @extschema@.recsys_train_transition(internal, text, "any", "any", float8),
              @extschema@.recsys_train_transition(internal, text, "any", "any", float8, jsonb),
              @extschema@.recsys_train_combine(internal, internal),
              @extschema@.recsys_train_serialize(internal),
              @extschema@.recsys_train_deserialize(bytea, internal),
              @extschema@.recsys_train_final(internal),
              @extschema@.recsys_query_columns(text),
              @extschema@.recsys_query_has_weight(text),
              @extschema@.train(text, text, text, jsonb);
-- the store
DROP FUNCTION @extschema@.describe_model(bytea),
              @extschema@.describe_model(text),
              @extschema@.save_model(text, bytea, double precision),
              @extschema@.drop_model(text, boolean),
              @extschema@.recsys_list_models();
-- serving
DROP FUNCTION @extschema@.recommend(bigint, integer, text, boolean, text[], text[]),
              @extschema@.recommend(text, integer, text, boolean, text[], text[]),
              @extschema@.recommend_for_items(text[], integer, text, float8[], boolean, text[], text[]),
              @extschema@.similar_items(text, integer, text),
              @extschema@.similar_items(bigint, integer, text),
              @extschema@.explain_recommendation(bigint, text, text),
              @extschema@.explain_recommendation(text, text, text),
              @extschema@.recsys_cache_stats(),
              @extschema@.recommend_all(integer, text, text[], boolean);
-- normalisation
DROP AGGREGATE @extschema@.fit_scaler(float8),
               @extschema@.fit_scaler(float8, text);
DROP FUNCTION @extschema@.recsys_fit_scaler_transition(internal, float8),
              @extschema@.recsys_fit_scaler_transition(internal, float8, text),
              @extschema@.recsys_fit_scaler_combine(internal, internal),
              @extschema@.recsys_fit_scaler_serialize(internal),
              @extschema@.recsys_fit_scaler_deserialize(bytea, internal),
              @extschema@.recsys_fit_scaler_final(internal),
              @extschema@.scale(float8, jsonb),
              @extschema@.log_weight(float8, float8, float8),
              @extschema@.decay_weight(float8, timestamptz, timestamptz, interval),
              @extschema@.clip_weight(float8, float8);
-- privacy
DROP FUNCTION @extschema@.pseudonymize(bigint, text),
              @extschema@.pseudonymize(text, text),
              @extschema@.pseudonymize_hex(bigint, text),
              @extschema@.pseudonymize_hex(text, text),
              @extschema@.mask_email(text),
              @extschema@.mask_phone(text, integer),
              @extschema@.mask_name(text),
              @extschema@.mask_text(text, integer, integer, text);
-- splits and evaluation
DROP FUNCTION @extschema@.in_test_split("any", "any", float8, bigint),
              @extschema@.recsys_split(text, text, float8, integer, bigint),
              @extschema@.split_per_user(text, float8, bigint),
              @extschema@.split_last_n(text, integer, bigint),
              @extschema@.recsys_evaluate(text, text, integer),
              @extschema@.evaluate(text, text, integer);
-- tune
DROP FUNCTION @extschema@.recsys_tune_default_space(),
              @extschema@.recsys_tune_search_space(text[], jsonb),
              @extschema@.recsys_tune_grid(jsonb),
              @extschema@.recsys_tune_refine(jsonb, jsonb),
              @extschema@.recsys_tune_too_big(text, jsonb, bigint, bigint),
              @extschema@.recsys_tune_params_error(text, jsonb),
              @extschema@.tune(text, text, text[], text, interval, integer, jsonb, text, bigint, float8, float8);

-- What is left of 0.1.0 is its table: anything else would stay behind in
-- the old schema, unpinned.
DO $$
DECLARE
    left_over text;
BEGIN
    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
      INTO left_over
      FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'recsys')
       AND d.deptype = 'e'
       AND (d.classid, d.objid) <> ('pg_class'::regclass, '@extschema@.recsys_models'::regclass);
    IF left_over IS NOT NULL THEN
        RAISE EXCEPTION 'recsys 0.1.0 has objects this upgrade does not know: %', left_over
            USING HINT = 'Was the 0.1.0 install changed by hand? Drop them (ALTER EXTENSION recsys DROP ...) and retry.';
    END IF;
END
$$;

------------------------------------------------------------------------------
-- 2. Schema recsys, as CREATE EXTENSION makes it. CREATE EXTENSION creates
-- the control file's schema before it runs the install script, so the schema
-- is not a member of the extension (DROP EXTENSION keeps it) and the
-- extension depends on it; created in this script it would be a member, so
-- it leaves the extension again. A schema recsys that already exists is used
-- as it is, as CREATE EXTENSION does.
------------------------------------------------------------------------------
DO $$
BEGIN
    IF to_regnamespace('recsys') IS NULL THEN
        CREATE SCHEMA recsys;
        ALTER EXTENSION recsys DROP SCHEMA recsys;
    END IF;
END
$$;

-- The extension's schema, recorded as ALTER EXTENSION SET SCHEMA would
-- record it (pg_extension.extnamespace and the extension's dependency on its
-- schema). That command refuses a non-relocatable extension, and the move of
-- every object is done by hand here, so the catalogs are updated directly:
-- acceptable in a script that runs as a superuser inside ALTER EXTENSION.
UPDATE pg_catalog.pg_depend
   SET refobjid = 'recsys'::regnamespace
 WHERE classid = 'pg_extension'::regclass
   AND objid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'recsys')
   AND refclassid = 'pg_namespace'::regclass
   AND refobjid = '@extschema@'::regnamespace;
UPDATE pg_catalog.pg_extension
   SET extnamespace = 'recsys'::regnamespace
 WHERE extname = 'recsys';

------------------------------------------------------------------------------
-- 3. The model table, with its rows, in recsys; the columns 0.2.0 added
-- (store_table.sql has the table as a fresh install creates it: the new
-- columns come last here, which nothing reads by position).
------------------------------------------------------------------------------
DO $$
BEGIN
    IF to_regclass('recsys.recsys_models') IS NULL THEN  -- unless 0.1.0 was installed in recsys
        ALTER TABLE @extschema@.recsys_models SET SCHEMA recsys;
    END IF;
END
$$;

CREATE SEQUENCE recsys.recsys_model_versions;
SELECT pg_extension_config_dump('recsys.recsys_model_versions', '');

-- Every stored model takes a version from the sequence (the volatile
-- default fills the rows already there), records its size, and belongs to
-- the extension's owner: in 0.1.0 only the table's owner (who installed the
-- extension) and superusers could store models.
ALTER TABLE recsys.recsys_models
    ADD COLUMN owner name,
    ADD COLUMN version bigint NOT NULL DEFAULT nextval('recsys.recsys_model_versions'),
    ADD COLUMN model_bytes integer;
UPDATE recsys.recsys_models
   SET owner = (SELECT r.rolname FROM pg_roles r JOIN pg_extension e ON r.oid = e.extowner
                 WHERE e.extname = 'recsys'),
       model_bytes = octet_length(model);
ALTER TABLE recsys.recsys_models
    ALTER COLUMN owner SET DEFAULT CURRENT_USER,
    ALTER COLUMN owner SET NOT NULL,
    ALTER COLUMN model_bytes SET NOT NULL;
-- Versions (issue 18): one row per stored version, one active per name; the
-- rows already there are each their name's only, active, version. A recipe
-- is recorded by train(), train_ranker() and tune() from now on.
ALTER TABLE recsys.recsys_models
    ADD COLUMN active boolean NOT NULL DEFAULT true,
    ADD COLUMN recipe jsonb,
    DROP CONSTRAINT recsys_models_pkey,
    ADD CONSTRAINT recsys_models_pkey PRIMARY KEY (name, version);
CREATE UNIQUE INDEX recsys_models_active ON recsys.recsys_models (name) WHERE active;

------------------------------------------------------------------------------
-- 4. The files that follow create their objects unqualified, in the first
-- schema on the path, as at CREATE EXTENSION (where the path is the
-- extension's schema).
------------------------------------------------------------------------------
SET LOCAL search_path = recsys, pg_temp;
