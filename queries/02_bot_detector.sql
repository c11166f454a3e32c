-- Bot detector: an IP with more than 300 requests in 10 seconds is a bot.
-- Its address goes into the bot-signature cache for an hour, where the
-- collector's bot_signature(ip) sees it. It reads the raw stream, before the
-- collector's filter, so it keeps seeing an abusive IP while it is blocked.
-- GET /v1/bots lists the current signatures.
@Name("bot_detector")
@Description("IPs over 300 requests per 10 s become bot signatures for 1 h")
@EventTime(column="ts", lateness="5s")
@Sink(type="bot_signatures", ttl="1h")
SELECT ip, COUNT(*) AS hits
FROM events
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), ip
HAVING COUNT(*) > 300;
