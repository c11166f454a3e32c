-- Views per 10 seconds by country and device.
@Name("page_views")
SELECT country, device, COUNT(*) AS views
FROM events
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), country, device;
