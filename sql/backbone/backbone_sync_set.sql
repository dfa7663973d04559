-- Records of one kind, as one set (see backbone_sync()): the ones skipped,
-- with the reason.  Raises when the set cannot be stored as a whole.
CREATE OR REPLACE FUNCTION backbone_sync_set(kind text, recs jsonb)
RETURNS TABLE (skipped_id bigint, reason text) LANGUAGE plpgsql AS $$
BEGIN
    CASE kind
    WHEN 'channels' THEN
        PERFORM backbone_sync_channels(recs);
    WHEN 'games' THEN
        PERFORM backbone_sync_games(recs);
    WHEN 'events' THEN
        RETURN QUERY SELECT * FROM backbone_sync_events(recs);
    WHEN 'achievements' THEN
        RETURN QUERY SELECT * FROM backbone_sync_achievements(recs);
    END CASE;
END
$$;
