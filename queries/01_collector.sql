-- Collector: the front door of the pipeline.
-- Every event POSTed to /v1/streams/events/events lands on the stream
-- "events". The collector stamps when sluice received it and drops traffic
-- from known bots: crawler and tool user agents (is_bot) and IPs that the
-- bot detector (02_bot_detector.sql) has caught hammering the site.
@Name("collector")
@Description("stamps arrival time, drops known bots and detected abusive IPs")
INSERT INTO clean
SELECT *, _arrival AS received_at
FROM events
WHERE NOT is_bot(ua) AND NOT bot_signature(ip);
