-- recsys 0.2.0: install script.
--
-- Everything lives in schema recsys (recsys.control), where only the
-- installing superuser can create objects. Every SQL and PL/pgSQL function
-- pins search_path = pg_catalog, recsys, pg_temp, so no role can shadow a
-- call it makes (an overload in public with exact argument types would beat
-- pg_catalog's own). The few entry points that run a caller's query are thin,
-- fully qualified SQL wrappers: they pass the caller's search_path on, and the
-- query alone is parsed with it. No function is SECURITY DEFINER.
\echo Use "CREATE EXTENSION recsys" to load this file. \quit
