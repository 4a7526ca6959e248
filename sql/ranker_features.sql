-- Every built-in purchase feature of the ranker (README, "Feature-aware
-- ranking"), as explain_ranker reports it, against the same value computed
-- in plain SQL from its definition.
CREATE EXTENSION recsys;
SET search_path = public, recsys;
\set SHOW_CONTEXT never
-- Irregular purchases: 9 customers, 8 items in 3 categories, prices that
-- vary by row, some rows after the serving time "now" (they must not count).
CREATE TABLE f_purchases AS
SELECT u AS customer_id, 'P' || ((u * 3 + w * (1 + u % 3) + k) % 8) AS sku,
       timestamptz '2024-01-01 00:00:00+00' + ((w * (5 + u % 4) + k * 2) * interval '1 day')
           + ((u * 37 + w * 11) % 24) * interval '1 hour' AS bought_at,
       1 + (u + w + k) % 4 AS qty, round((1.5 + ((u * 7 + w * 3 + k) % 10) * 0.75)::numeric, 2)::float8 AS unit_price
  FROM generate_series(1, 9) u, generate_series(0, 14) w, generate_series(0, (u % 3)) k;
CREATE TABLE f_items AS
SELECT 'P' || i AS sku, (ARRAY['tea', 'cups', 'cake'])[1 + i % 3] AS category, 2.0 + i AS list_price
  FROM generate_series(0, 7) i;
SELECT train_ranker('f', 'SELECT customer_id AS user_id, sku AS item_id, bought_at AS ts, qty AS quantity,
                                 unit_price AS price FROM f_purchases',
                    'SELECT sku AS item_id, category, list_price AS price FROM f_items',
                    '{"learner": "logistic", "label_window_days": 7, "now": "2024-03-20"}') -> 'ranker' ->> 'learner' AS learner;
-- The features of every (customer, item) candidate: the customer's own
-- items and their base models' top items.
CREATE TABLE f_served AS
SELECT c.customer_id, i.sku, e.feature, e.value
  FROM (SELECT DISTINCT customer_id FROM f_purchases) c CROSS JOIN f_items i,
       LATERAL (SELECT item_id FROM recommend(c.customer_id, 8, model => 'f', exclude_seen => false)) r,
       LATERAL explain_ranker(c.customer_id::text, i.sku, 'f') e
 WHERE r.item_id = i.sku AND e.feature <> 'bias';
SELECT count(DISTINCT (customer_id, sku)) AS pairs, count(DISTINCT feature) AS features FROM f_served;

-- The same definitions in SQL, at now = 2024-03-20 with R = 30 and B = 90 days.
CREATE TABLE f_hist AS
SELECT p.*, extract(epoch FROM timestamptz '2024-03-20+00' - p.bought_at) / 86400 AS days, i.category
  FROM f_purchases p JOIN f_items i USING (sku) WHERE p.bought_at < timestamptz '2024-03-20+00';
CREATE TABLE f_expected AS
WITH u AS (
    SELECT customer_id, count(*)::float8 AS user_n_purchases, count(DISTINCT bought_at)::float8 AS user_n_baskets,
           count(DISTINCT sku)::float8 AS user_n_items, min(days) AS user_days_since_last,
           max(days) AS user_tenure_days, avg(unit_price) AS user_mean_price,
           stddev_pop(unit_price) AS user_std_price, count(*)::float8 / count(DISTINCT bought_at) AS user_mean_basket_size,
           count(DISTINCT floor(extract(epoch FROM bought_at) / 86400))::float8 AS user_n_days,
           count(DISTINCT floor(extract(epoch FROM bought_at) / 86400)) FILTER (WHERE days <= 30)::float8
               AS user_days_recent
      FROM f_hist GROUP BY customer_id),
it AS (
    SELECT i.sku, count(h.*)::float8 AS item_n_purchases, count(DISTINCT h.customer_id)::float8 AS item_buyers,
           count(DISTINCT h.customer_id) FILTER (WHERE h.days <= 30)::float8 AS item_buyers_recent,
           (count(h.*) FILTER (WHERE h.days <= 30) + 1)::float8
               / (count(h.*) FILTER (WHERE h.days > 30 AND h.days <= 120) * 30.0 / 90 + 1) AS item_trend,
           avg(h.unit_price) AS item_mean_price, i.list_price AS item_list_price, max(h.days) AS item_age_days,
           (SELECT count(*) FILTER (WHERE n_days >= 2)::float8 / nullif(count(*), 0)
              FROM (SELECT count(DISTINCT floor(extract(epoch FROM bought_at) / 86400)) AS n_days
                      FROM f_hist b WHERE b.sku = i.sku GROUP BY b.customer_id) per_buyer) AS item_repeat_share
      FROM f_items i LEFT JOIN f_hist h USING (sku) GROUP BY i.sku, i.list_price),
ui AS (
    SELECT customer_id, sku, count(DISTINCT floor(extract(epoch FROM bought_at) / 86400))::float8 AS ui_times_bought,
           sum(qty)::float8 AS ui_total_quantity, min(days) AS ui_days_since_last,
           CASE WHEN count(DISTINCT floor(extract(epoch FROM bought_at) / 86400)) > 1
                THEN (max(days) - min(days)) / (count(DISTINCT floor(extract(epoch FROM bought_at) / 86400)) - 1) END
               AS ui_mean_interval_days,
           count(DISTINCT floor(extract(epoch FROM bought_at) / 86400)) FILTER (WHERE days <= 30)::float8 AS ui_days_recent
      FROM f_hist GROUP BY customer_id, sku),
pairs AS (SELECT DISTINCT customer_id, sku FROM f_served)
SELECT p.customer_id, p.sku, v.feature, v.value
  FROM pairs p JOIN u USING (customer_id) JOIN it USING (sku) LEFT JOIN ui USING (customer_id, sku),
       LATERAL (VALUES
           ('user_n_purchases', u.user_n_purchases), ('user_n_baskets', u.user_n_baskets),
           ('user_n_items', u.user_n_items), ('user_days_since_last', u.user_days_since_last),
           ('user_tenure_days', u.user_tenure_days), ('user_mean_price', u.user_mean_price),
           ('user_std_price', u.user_std_price), ('user_mean_basket_size', u.user_mean_basket_size),
           ('user_n_days', u.user_n_days), ('user_days_recent', u.user_days_recent),
           ('item_n_purchases', it.item_n_purchases), ('item_buyers', it.item_buyers),
           ('item_buyers_recent', it.item_buyers_recent), ('item_trend', it.item_trend),
           ('item_mean_price', it.item_mean_price), ('item_list_price', it.item_list_price),
           ('item_age_days', it.item_age_days), ('item_repeat_share', it.item_repeat_share),
           ('ui_times_bought', coalesce(ui.ui_times_bought, 0)), ('ui_total_quantity', coalesce(ui.ui_total_quantity, 0)),
           ('ui_days_since_last', ui.ui_days_since_last), ('ui_mean_interval_days', ui.ui_mean_interval_days),
           ('ui_due', ui.ui_days_since_last / ui.ui_mean_interval_days),
           ('ui_user_category_share',
            (SELECT count(*) FILTER (WHERE h.category = (SELECT category FROM f_items WHERE sku = p.sku))::float8 / count(*)
               FROM f_hist h WHERE h.customer_id = p.customer_id)),
           ('ui_relative_price', it.item_mean_price / u.user_mean_price),
           ('ui_bought_before', CASE WHEN ui.sku IS NULL THEN 0 ELSE 1 END),
           ('ui_day_share', coalesce(ui.ui_times_bought, 0) / u.user_n_days),
           ('user_rebuy_share',
            (SELECT (sum(n_days) - count(*)) / sum(n_days)
               FROM (SELECT count(DISTINCT floor(extract(epoch FROM bought_at) / 86400))::float8 AS n_days
                       FROM f_hist h WHERE h.customer_id = p.customer_id GROUP BY h.sku) per_item)),
           ('ui_days_recent', coalesce(ui.ui_days_recent, 0)),
           ('ui_days_before_user_last', ui.ui_days_since_last - u.user_days_since_last)) AS v(feature, value);

-- Each feature: how many pairs agree (relative error <= 1e-5, or both missing: NULL or NaN), how many do not.
SELECT feature, count(*) FILTER (WHERE agree) AS agree, count(*) FILTER (WHERE NOT agree) AS differ
  FROM (SELECT e.feature,
               CASE WHEN e.value IS NULL THEN s.value IS NULL OR s.value = 'NaN'
                    ELSE coalesce(abs(s.value - e.value) <= 1e-5 * greatest(1, abs(e.value)), false) END AS agree
          FROM f_expected e LEFT JOIN f_served s USING (customer_id, sku, feature)) t
 GROUP BY feature ORDER BY feature;
-- The category columns: the item's category is a number shared by the
-- items of one category, and a customer's shares of the top categories sum to 1.
SELECT count(DISTINCT s.value) AS category_codes, count(DISTINCT i.category) AS categories
  FROM f_served s JOIN f_items i USING (sku) WHERE s.feature = 'item_category';
SELECT count(*) AS customers, bool_and(abs(total - 1) < 1e-5) AS shares_sum_to_one
  FROM (SELECT customer_id, sku, sum(value) AS total FROM f_served WHERE feature LIKE 'user_cat_share_%'
         GROUP BY customer_id, sku) t;

DROP TABLE f_purchases, f_items, f_served, f_hist, f_expected;
DROP EXTENSION recsys;
