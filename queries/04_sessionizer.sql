-- Sessionizer, part 1: every enriched event is tagged with its visitor's
-- session (30 minutes of inactivity ends one) and its place in it, and goes
-- on to the stream "sessionized" that the distributor and metrics read.
@Name("sessionizer")
@Description("tags events with session_id and session_seq")
@EventTime(column="ts", lateness="5s")
@Session(key="user_id", gap="30m")
INSERT INTO sessionized
SELECT *, session_id() AS session_id, session_seq() AS session_seq
FROM enriched;

-- Sessionizer, part 2: one row when a session starts and one when it ends,
-- with its landing and exit pages and how many distinct pages it saw.
-- Sessions end after 30 minutes of inactivity or after 4 hours.
@Name("sessions")
@Description("session start and end rows per user")
@EventTime(column="ts", lateness="5s")
INSERT INTO session_events
SELECT user_id,
       FIRST(page)          AS landing_page,
       LAST(page)           AS exit_page,
       COUNT(DISTINCT page) AS pages,
       FIRST(country)       AS country,
       FIRST(device)        AS device
FROM enriched
GROUP BY SESSION(ts, INTERVAL 30 MINUTE, INTERVAL 4 HOUR), user_id;

-- Open sessions right now: +1 per start row, -1 per end row.
@Name("active_sessions")
@Description("sessions open right now")
@Widget(type="counter", title="Active sessions", value="active")
SELECT SUM(CASE WHEN event = 'start' THEN 1 ELSE -1 END) AS active
FROM session_events;
