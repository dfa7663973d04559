-- One slot of the statistics (migrations/0014_statistics.sql), recorded by
-- the owner of the hub link while the link is live: the network's total
-- (the players online in the games shown with their players, as the home
-- page counts them) and each game's players online, for the slot that
-- starts at `at_slot` and lasts `slot_seconds`; and the maxima of its
-- hour; and the charts' points kept ready (backbone_statistics_keep()).
-- A slot already recorded (by another instance, or an owner before this
-- one) is left as it is.  Returns the rows written for the slot (0 when
-- it was recorded already).
CREATE OR REPLACE FUNCTION backbone_statistics_record(
    at_slot timestamptz, slot_seconds integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n        integer;
    at_hour  timestamptz := date_trunc('hour', at_slot AT TIME ZONE 'UTC')
                            AT TIME ZONE 'UTC';
BEGIN
    INSERT INTO statistics AS s (game_id, slot, players, seconds)
    SELECT 0, at_slot, count(*), slot_seconds
    FROM players_online p JOIN games g ON g.id = p.game_id
    WHERE g.display AND g.display_players
    ON CONFLICT (game_id, slot) DO NOTHING;

    GET DIAGNOSTICS n = ROW_COUNT;

    IF n = 0 THEN
        RETURN 0;
    END IF;

    INSERT INTO statistics AS s (game_id, slot, players)
    SELECT p.game_id, at_slot, count(*)
    FROM players_online p
    GROUP BY p.game_id
    ON CONFLICT (game_id, slot) DO NOTHING;

    GET DIAGNOSTICS n = ROW_COUNT;

    -- the hour's maxima: the network's row always, a game's when it had
    -- players
    INSERT INTO statistics_hourly AS h (game_id, hour, players)
    SELECT s.game_id, at_hour, s.players
    FROM statistics s
    WHERE s.slot = at_slot
    ON CONFLICT (game_id, hour)
        DO UPDATE SET players = excluded.players
        WHERE h.players < excluded.players;

    -- the charts' points, kept ready
    PERFORM backbone_statistics_keep(at_slot);

    RETURN n + 1;
END
$$;
