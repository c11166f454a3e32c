-- Real-time recommendations, after the Spark recommender paper: items that
-- people handle in the same session are similar, and a click on an item
-- puts the items most similar to it in front of the user at once.

-- Implicit ratings: what a click on an item says about interest in it. The
-- weights are constants of this statement; change them here. Every view,
-- add-to-cart and purchase of an item becomes a rating on the stream
-- "ratings", with the session it belongs to.
@Name("ratings")
@Description("implicit ratings: view 1, cart 3, purchase 5")
INSERT INTO ratings
SELECT user_id, item_id, action, session_id, session_seq,
       CASE action
         WHEN 'view'     THEN 1
         WHEN 'cart'     THEN 3
         WHEN 'purchase' THEN 5
       END AS weight,
       ts
FROM sessionized
WHERE item_id IS NOT NULL
  AND action IN ('view', 'cart', 'purchase');

-- Co-occurrence and recommendations, in Redis, one rating at a time, in
-- the order ratings arrive. For a rating of item X with weight w in
-- session S by user U (the redis sink's mode "cooccur"):
--   1. for every other item Y among the last 20 distinct items of S
--      (the list sess:{S}):
--        ZINCRBY sim:X w Y   and   ZINCRBY sim:Y w X
--      so sim:{item} is a sorted set of the items seen with it, scored by
--      the summed weights;
--   2. X becomes the most recent item of sess:{S};
--   3. the 5 items with the highest scores in sim:X (on a tie, the member
--      that sorts last comes first, as ZREVRANGE has it) go to the head of
--      the list rec:{U}, each once, and the list keeps its 20 newest entries.
-- A shop front reads LRANGE rec:u00042 0 9 and shows the items; ZREVRANGE
-- sim:1234 0 9 WITHSCORES shows why.
--
-- It all runs as one Lua script per rating, so a recommendation always
-- reflects the click that caused it and every click before it, and lands
-- within the sink's flush interval (100 ms) of the click. (Separate
-- statements, one adding ZINCRBYs and one reading redis_zrange, would race:
-- a lookup could run before the writes it should see, so the lists would
-- depend on timing.)
--
-- Replays: the script first adds the rating's session_seq to the set
-- sess:{S}:seen, and a rating already there changes nothing, neither
-- scores nor lists. The sessionizer numbers a session's events the same way
-- each time it reads them from the same starting point: after a restart
-- from a checkpoint, or from the beginning of a topic. (Events sent again
-- to a server that is still running are new clicks to its sessionizer:
-- those of a visitor with a session open now join that session and count
-- again.) The session keys expire 6 hours after the session's first
-- rating; sim:* and rec:* stay.
--
-- Cost: each rating is one script in Redis's single thread, mostly two
-- ZINCRBY per recent item of its session: some 50 to 90 microseconds with
-- real traffic, so one Redis core keeps up with roughly 15,000 ratings a
-- second. A lower max_len bounds the work per rating.
@Name("recommendations")
@Description("item co-occurrence in sim:{item}, top 5 similar items to rec:{user_id} on each click")
@Sink(type="redis", mode="cooccur", key="sess:{session_id}", id="{session_seq}", member="item_id", score="weight", max_len="20", ttl="6h", rec="rec:{user_id}", rec_top="5", rec_len="20", flush="100ms")
SELECT user_id, item_id, session_id, session_seq, weight
FROM ratings;
