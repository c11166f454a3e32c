-- Metrics: 10-second rollups of the sessionized stream.

-- Every combination of country, device, browser and page (CUBE: 16
-- grouping sets in one pass; rolled-up dimensions are null), written to
-- Elasticsearch with --es-url, one document per group and window.
@Name("page_metrics")
@Description("10 s CUBE rollups: views, users, p50/p95 latency")
@EventTime(column="ts", lateness="5s")
@Sink(type="elasticsearch", index="metrics-{yyyy.MM.dd}")
SELECT country, device, browser, page,
       COUNT(*)                   AS views,
       COUNT(DISTINCT user_id)    AS users,
       PERCENTILE(latency_ms, 50) AS p50_ms,
       PERCENTILE(latency_ms, 95) AS p95_ms
FROM sessionized
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), CUBE(country, device, browser, page);

-- Views per 10 seconds by device, for the dashboard.
@Name("views_by_device")
@Description("views per 10 s by device")
@EventTime(column="ts", lateness="5s")
@Widget(type="timeseries", title="Views per 10 s by device", value="views", series="device")
SELECT device, COUNT(*) AS views
FROM sessionized
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), device;

-- The ten most viewed pages of each 10 seconds.
@Name("top_pages")
@Description("top 10 pages per 10 s")
@EventTime(column="ts", lateness="5s")
@Widget(type="topn", title="Top pages", value="views", label="page")
SELECT page, COUNT(*) AS views, COUNT(DISTINCT user_id) AS users
FROM sessionized
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), page
ORDER BY views DESC, page
LIMIT 10;

-- Views per 10 seconds by country, for the dashboard.
@Name("views_by_country")
@Description("views per 10 s by country")
@EventTime(column="ts", lateness="5s")
@Widget(type="bar", title="Views by country", value="views", label="country", limit="15")
SELECT country, COUNT(*) AS views
FROM sessionized
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country
ORDER BY views DESC, country
LIMIT 15;
