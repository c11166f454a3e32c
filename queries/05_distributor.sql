-- Distributor: routes sessionized events by device to their own streams
-- (and, with --kafka-brokers, to Kafka topics keyed by user) so that
-- downstream consumers read only what they need.
@Name("route_mobile")
@Description("mobile and tablet traffic")
@PublishOn(topic="mobile-events", key="user_id")
INSERT INTO mobile
SELECT * FROM sessionized WHERE device IN ('mobile', 'tablet');

@Name("route_desktop")
@Description("desktop traffic")
@PublishOn(topic="desktop-events", key="user_id")
INSERT INTO desktop
SELECT * FROM sessionized WHERE device = 'desktop';
