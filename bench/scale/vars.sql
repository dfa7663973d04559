-- The values of the {name} placeholders of bench/scale/routes, for one
-- network's database: "name=value" lines.
SELECT 'gossip_mid=' || (SELECT id FROM channel_messages
                         WHERE channel_id = 1 ORDER BY id
                         OFFSET (SELECT count(*) / 2 FROM channel_messages
                                 WHERE channel_id = 1) LIMIT 1)
UNION ALL
SELECT 'quiet_mid=' || (SELECT m.id FROM channel_messages m
                        JOIN channels c ON c.id = m.channel_id
                        WHERE c.name = 'quiet' ORDER BY m.id
                        OFFSET (SELECT count(*) / 2 FROM channel_messages m
                                JOIN channels c ON c.id = m.channel_id
                                WHERE c.name = 'quiet') LIMIT 1)
UNION ALL
SELECT 'busy_character=' || (SELECT name FROM characters WHERE id = 1);
