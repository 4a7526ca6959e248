------------------------------------------------------------------------------
-- Privacy: pseudonyms and masking
------------------------------------------------------------------------------
CREATE FUNCTION pseudonymize(id bigint, key text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize(id text, key text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize_hex(id bigint, key text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize_hex' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION pseudonymize_hex(id text, key text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_pseudonymize_hex' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION pseudonymize(bigint, text) IS
    'HMAC-SHA-256 pseudonym of an id as a positive bigint; the key defaults to recsys.pseudonymize_key.';
COMMENT ON FUNCTION pseudonymize(text, text) IS
    'HMAC-SHA-256 pseudonym of an id as a positive bigint; the key defaults to recsys.pseudonymize_key.';
COMMENT ON FUNCTION pseudonymize_hex(bigint, text) IS 'HMAC-SHA-256 pseudonym of an id as 64 hex digits.';
COMMENT ON FUNCTION pseudonymize_hex(text, text) IS 'HMAC-SHA-256 pseudonym of an id as 64 hex digits.';

CREATE FUNCTION mask_email(email text) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_phone(phone text, keep_last integer DEFAULT 4) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_name(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'recsys_mask_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mask_text(value text, keep_first integer DEFAULT 1, keep_last integer DEFAULT 0, mask text DEFAULT '*')
RETURNS text AS 'MODULE_PATHNAME', 'recsys_mask_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mask_email(text) IS 'j.doe@example.com -> j****@example.com (UTF-8 safe).';
COMMENT ON FUNCTION mask_phone(text, integer) IS 'Masks all digits but the last keep_last, keeping separators.';
COMMENT ON FUNCTION mask_name(text) IS 'Keeps the first character of each word: Zoë Ødegård -> Z** Ø******.';
COMMENT ON FUNCTION mask_text(text, integer, integer, text) IS
    'Keeps the first keep_first and last keep_last characters, masks the rest (all of it if too short).';
