#!/usr/bin/env bash
# pg_cron retrains a model on schedule: a job runs recsys.retrain() at the
# next minute's tick, and a new version trained on the current rows appears
# in model_versions(); at the same tick a second job runs
# recsys.update_model() with the rows added since the training (waits at most 90 s: pg_cron 1.4, Debian 12's, has no
# seconds schedules). Needs PGHOST/PGPORT/PGUSER of a running cluster (as a
# superuser) started with shared_preload_libraries = 'pg_cron' and
# cron.database_name = 'postgres' (scripts/cluster.sh does so when
# postgresql-15-cron is installed); skipped otherwise.
set -euo pipefail
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
if [[ "$(sql -d postgres -c "SHOW shared_preload_libraries")" != *pg_cron* ]]; then
    echo "cron: SKIPPED, pg_cron is not loaded (install postgresql-15-cron; scripts/cluster.sh preloads it)"
    exit 0
fi
db=recsys_cron
job=
job2=
finish() {
    local rc=$?
    trap - EXIT
    [ -z "$job" ] || sql -d postgres -c "SELECT cron.unschedule($job)" >/dev/null 2>&1 || true
    [ -z "$job2" ] || sql -d postgres -c "SELECT cron.unschedule($job2)" >/dev/null 2>&1 || true
    sql -d postgres -c "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1 || true
    dropdb --if-exists "$db" 2>/dev/null || true
    exit "$rc"
}
trap finish EXIT
fail() { echo "cron: FAILED: $*" >&2; exit 1; }

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
sql -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION recsys;
CREATE TABLE purchases AS
SELECT c AS customer_id, 'SKU' || ((c * 7 + i * 3) % 30) AS stock_code FROM generate_series(1, 200) c, generate_series(1, 6) i;
SELECT recsys.train('shop', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases');
SELECT recsys.train('shop_up', 'itemknn', 'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases');
-- purchases arrive after the training: the scheduled retrain must see them
INSERT INTO purchases SELECT c, 'SKU' || (c % 30) FROM generate_series(201, 260) c;
SQL

# The job, as the README schedules it: every minute here, nightly in a shop.
job=$(sql -d postgres <<SQL
CREATE EXTENSION pg_cron;
SELECT cron.schedule_in_database('recsys-retrain-shop', '* * * * *',
                                 \$\$SELECT recsys.retrain('shop', keep => 5)\$\$, '$db');
SQL
)
[ -n "$job" ] || fail "could not schedule the job"
job2=$(sql -d postgres <<SQL
SELECT cron.schedule_in_database('recsys-update-shop', '* * * * *', \$\$SELECT recsys.update_model('shop_up',
    'SELECT customer_id AS user_id, stock_code AS item_id FROM purchases WHERE customer_id > 200')\$\$, '$db');
SQL
)
[ -n "$job2" ] || fail "could not schedule the update job"

versions=1
for _ in $(seq 1 45); do
    versions=$(sql -d "$db" -c "SELECT count(*) FROM recsys.model_versions('shop')")
    [ "$versions" -ge 2 ] && break
    sleep 2
done
if [ "$versions" -lt 2 ]; then
    sql -d postgres -c "SELECT status, return_message FROM cron.job_run_details WHERE jobid = $job" >&2 || true
    fail "no new version of model shop after 90 s"
fi

# The new version is active and trained on the rows added since: 260 users.
got=$(sql -d "$db" -c "SELECT string_agg(active || ':' || n_users || ':' || coalesce(metrics -> 'retrain' ->> 'activated', '-'),
                                         ' ' ORDER BY version) FROM recsys.model_versions('shop')
                        WHERE version IN (SELECT version FROM recsys.recsys_models WHERE name = 'shop'
                                          ORDER BY version LIMIT 2)")
[ "$got" = "false:200:- true:260:true" ] || fail "versions after the scheduled retrain: '$got', expected 'false:200:- true:260:true'"
# pg_cron's own record of the run.
for _ in $(seq 1 10); do
    status=$(sql -d postgres -c "SELECT string_agg(status, ',') FROM (SELECT status FROM cron.job_run_details
                                  WHERE jobid = $job ORDER BY runid LIMIT 1) s")
    [ "$status" = succeeded ] && break
    sleep 1
done
[ "$status" = succeeded ] || fail "pg_cron reports the run as '$status'"
# The update job ran at the same tick: its first new version holds the 60
# new customers too, and says it was an exact update.
for _ in $(seq 1 30); do
    got=$(sql -d "$db" -c "SELECT string_agg(n_users || ':' || coalesce(metrics -> 'update' ->> 'exact', '-'), ' ' ORDER BY version)
                            FROM recsys.model_versions('shop_up')
                            WHERE version <= (SELECT min(version) FROM recsys.recsys_models WHERE name = 'shop_up'
                                                                                             AND metrics ? 'update')")
    [ "$got" = "200:- 260:true" ] && break
    sleep 2
done
if [ "$got" != "200:- 260:true" ]; then
    sql -d postgres -c "SELECT status, return_message FROM cron.job_run_details WHERE jobid = $job2" >&2 || true
    fail "versions after the scheduled update: '$got', expected '200:- 260:true'"
fi
echo "cron: a scheduled retrain and a scheduled update_model stored new active versions with the current rows"
