------------------------------------------------------------------------------
-- Normalisation: scalers and interaction weights
------------------------------------------------------------------------------
CREATE FUNCTION recsys_fit_scaler_transition(internal, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_transition(internal, float8, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_transition' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION recsys_fit_scaler_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'recsys_fit_scaler_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE fit_scaler(value float8) (
    SFUNC = recsys_fit_scaler_transition, STYPE = internal, FINALFUNC = recsys_fit_scaler_final,
    COMBINEFUNC = recsys_fit_scaler_combine, SERIALFUNC = recsys_fit_scaler_serialize,
    DESERIALFUNC = recsys_fit_scaler_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE fit_scaler(value float8, method text) (
    SFUNC = recsys_fit_scaler_transition, STYPE = internal, FINALFUNC = recsys_fit_scaler_final,
    COMBINEFUNC = recsys_fit_scaler_combine, SERIALFUNC = recsys_fit_scaler_serialize,
    DESERIALFUNC = recsys_fit_scaler_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE fit_scaler(float8) IS 'Fits a z-score scaler (mean, population stddev); returns its parameters.';
COMMENT ON AGGREGATE fit_scaler(float8, text) IS
    'Fits a minmax, zscore or robust (median, IQR) scaler; returns its parameters as jsonb.';

CREATE FUNCTION scale(value float8, params jsonb) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_scale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION scale(float8, jsonb) IS
    'Applies a scaler fitted by fit_scaler: (value - center) / spread; 0 for a constant column.';

CREATE FUNCTION log_weight(quantity float8, alpha float8 DEFAULT 1, eps float8 DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_log_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION log_weight(float8, float8, float8) IS 'Log-scaled quantity: 1 + alpha * ln(1 + quantity / eps).';
CREATE FUNCTION decay_weight(weight float8, event_time timestamptz, reference_time timestamptz, half_life interval)
RETURNS float8 AS 'MODULE_PATHNAME', 'recsys_decay_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION decay_weight(float8, timestamptz, timestamptz, interval) IS
    'Time-decayed weight: weight * 2^(-age / half_life), age = reference_time - event_time (future events: age 0).';
CREATE FUNCTION clip_weight(weight float8, cap float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'recsys_clip_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION clip_weight(float8, float8) IS 'least(weight, cap), with the arguments checked.';
