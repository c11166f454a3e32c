-- Enrichment: geography from the IP (embedded country table; region and
-- city too with --geoip-db) and device, browser and OS from the user agent
-- (parsed once per distinct user agent and cached).
@Name("enrichment")
@Description("adds country, region, city, device, browser and os")
INSERT INTO enriched
SELECT *,
       geo_country(ip) AS country,
       geo_region(ip)  AS region,
       geo_city(ip)    AS city,
       device_type(ua) AS device,
       browser(ua)     AS browser,
       os(ua)          AS os
FROM clean;
