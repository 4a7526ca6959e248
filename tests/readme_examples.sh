#!/usr/bin/env bash
# Runs every ```sql block of README.md, in order, against the sample
# purchases (data/), so the README's examples keep running as written.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with recsys installed.
set -euo pipefail
cd "$(dirname "$0")/.."
db=recsys_readme
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
{
    cat <<'SQL'
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TABLE raw_purchases (invoice text, stock_code text, description text, quantity int,
                            invoice_date timestamp, unit_price numeric, customer_id bigint, country text);
\copy raw_purchases FROM PROGRAM 'gzip -dc data/online-retail-sample.csv.gz' WITH (FORMAT csv, HEADER true)
CREATE TABLE purchases AS
SELECT customer_id, stock_code, quantity, invoice_date::timestamptz AS invoice_date, unit_price FROM raw_purchases
WHERE customer_id IS NOT NULL AND quantity > 0 AND unit_price > 0 AND invoice NOT LIKE 'C%';
CREATE TABLE customers AS SELECT DISTINCT customer_id FROM purchases;
CREATE TABLE products AS SELECT stock_code, min(description) AS description FROM raw_purchases GROUP BY stock_code;
-- the server's pseudonymisation key, as the README's Privacy section sets it
LOAD 'recsys';
ALTER SYSTEM SET recsys.pseudonymize_key = 'readme example key';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SQL
    # The README's SQL blocks, with \o so their output does not clutter the log.
    echo '\o /dev/null'
    awk '/^```sql$/ {on = 1; next} /^```$/ {on = 0; next} on' README.md
    echo '\o'
} > /tmp/recsys_readme.sql
reset_key() { psql -X -q -d postgres -c "LOAD 'recsys'" -c "ALTER SYSTEM RESET recsys.pseudonymize_key" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true; }
trap reset_key EXIT
if psql -X -q -d "$db" -f /tmp/recsys_readme.sql > /tmp/recsys_readme.log 2>&1; then
    echo "README examples: all ran"
    dropdb "$db"
else
    cat /tmp/recsys_readme.log >&2
    echo "README examples: FAILED (the statement above)" >&2
    dropdb "$db"
    exit 1
fi
