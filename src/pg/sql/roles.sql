------------------------------------------------------------------------------
-- Roles (README, "Security"). Roles belong to the cluster, not to a
-- database: the first CREATE EXTENSION creates them, DROP EXTENSION keeps
-- them.
--   recsys_reader         serves recommendations; lists models (not their bytes)
--   recsys_trainer        reader + trains, replaces and drops its own models
--   recsys_admin          trainer + replaces and drops anyone's models, reads
--                         model bytes, explains any model
--   recsys_pseudonymizer  may use the server's pseudonymisation key
------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_reader') THEN
        CREATE ROLE recsys_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_trainer') THEN
        CREATE ROLE recsys_trainer NOLOGIN IN ROLE recsys_reader;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_admin') THEN
        CREATE ROLE recsys_admin NOLOGIN IN ROLE recsys_trainer;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'recsys_pseudonymizer') THEN
        CREATE ROLE recsys_pseudonymizer NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA recsys TO PUBLIC;
