-- Daily active users (DAU), after the Spark/Maxwell paper: every device
-- (mid) seen on a UTC day is counted once, and its first page view of the
-- day is kept as a wide record for analysis.
--
-- Which views are candidates: a session's first view (the page sets
-- last_page to null when a visit starts), plus every view in the first half
-- hour of a day. The second half matters for devices whose only visit that
-- day began before midnight: a session ends after 30 minutes without a
-- click, so its first view after midnight comes before 00:30. Every device
-- seen on a day therefore has its earliest view of the day among the
-- candidates, while the day's other views never reach Redis.
--
-- Two sinks decide who is new, each idempotent, so replaying events (after
-- a crash, or on purpose) changes nothing:
--   * Redis:  SADD dau:{date} mid. The set holds the day's devices;
--             SCARD dau:2026-11-21 is that day's count. It expires 48 hours
--             after the day's first device, so today and yesterday are
--             always there.
--   * Elasticsearch: one document per device and day in the index
--             dau-{yyyy-MM-dd} (dau-2026-11-21), _id "2026-11-21:<mid>".
--             action="create" keeps the first document with an _id, so the
--             device's first view of the day stays and later views (and
--             replays) leave it alone.
-- Query them with
--   redis-cli SCARD dau:2026-11-21
--   GET dau-2026-11-21/_search
--   {"size": 0, "aggs": {"by_hour": {"terms": {"field": "hour", "size": 24}}}}
-- (new devices per hour of the day). Without --redis-url and --es-url the
-- statement still runs; its rows stream live over SSE and its status names
-- the missing sinks.
@Name("dau")
@Description("daily active devices: SADD dau:{date}, first view of the day to dau-{yyyy-MM-dd}")
@Sink(type="redis", mode="set", key="dau:{date}", member="mid", ttl="48h")
@Sink(type="elasticsearch", index="dau-{yyyy-MM-dd}", id="{date}:{mid}", time="ts", action="create")
SELECT mid, user_id, ts,
       TO_DATE(ts) AS date,
       HOUR(ts)    AS hour,
       page, country, device
FROM sessionized
WHERE last_page IS NULL
   OR (HOUR(ts) = 0 AND MINUTE(ts) < 30);
