------------------------------------------------------------------------------
-- The model store: one row per stored version of a named model, exactly one
-- of them active (the one served). pg_dump keeps its rows.
-- Created by a fresh install only: an upgrade's prologue brings the table it
-- finds to this shape, keeping its rows.
------------------------------------------------------------------------------
-- Every write of a model takes a new version: the serving cache is keyed on
-- it, so a reader never serves a model its snapshot cannot see.
CREATE SEQUENCE recsys_model_versions;
SELECT pg_catalog.pg_extension_config_dump('recsys_model_versions', '');
CREATE TABLE recsys_models (
    name           text NOT NULL CHECK (pg_catalog.length(name) > 0),
    owner          name NOT NULL DEFAULT CURRENT_USER,
    version        bigint NOT NULL DEFAULT pg_catalog.nextval('recsys.recsys_model_versions'),
    algorithm      text NOT NULL,
    params         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    n_users        bigint NOT NULL,
    n_items        bigint NOT NULL,
    n_interactions bigint NOT NULL,
    train_seconds  double precision,
    metrics        jsonb,
    model_bytes    integer NOT NULL,
    model          bytea NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    recipe         jsonb,
    CONSTRAINT recsys_models_pkey PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX recsys_models_active ON recsys_models (name) WHERE active;
ALTER TABLE recsys_models ALTER COLUMN model SET STORAGE EXTERNAL;  -- already compact: skip compression
SELECT pg_catalog.pg_extension_config_dump('recsys_models', '');
COMMENT ON TABLE recsys_models IS 'Trained recsys models; written by train() and save_model().';
