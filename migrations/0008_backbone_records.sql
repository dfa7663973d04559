-- 0008: the hub's records are validated once, by the module's protocol
-- parser, which hands the ingest typed records (sql/backbone/
-- backbone_sync.sql); the functions that checked each record again in SQL
-- (backbone_need, _opt, _int, _ok_*), the per-record upserts and the fast
-- paths that copied them, and backbone_ingest(), which took the raw frame,
-- are gone.  backbone_sync() takes the records under a new argument name.
--
-- hub_status.retry_at: when the owner tries the hub next, while it backs
-- off (grapevine_status shows it).

DROP FUNCTION IF EXISTS backbone_ingest(jsonb);
DROP FUNCTION IF EXISTS backbone_sync(text, jsonb);
DROP FUNCTION IF EXISTS backbone_sync_records(text, jsonb);
DROP FUNCTION IF EXISTS backbone_sync_games_fast(jsonb);
DROP FUNCTION IF EXISTS backbone_sync_channels_fast(jsonb);
DROP FUNCTION IF EXISTS backbone_channel(jsonb, timestamptz);
DROP FUNCTION IF EXISTS backbone_game(jsonb, timestamptz);
DROP FUNCTION IF EXISTS backbone_game_id(bigint);
DROP FUNCTION IF EXISTS backbone_event(jsonb, text, timestamptz);
DROP FUNCTION IF EXISTS backbone_achievement(jsonb, text, timestamptz);
DROP FUNCTION IF EXISTS backbone_need(jsonb, text, text);
DROP FUNCTION IF EXISTS backbone_opt(jsonb, text, text);
DROP FUNCTION IF EXISTS backbone_int(jsonb, text);
DROP FUNCTION IF EXISTS backbone_ok_need(jsonb, text);
DROP FUNCTION IF EXISTS backbone_ok_opt(jsonb, text);
DROP FUNCTION IF EXISTS backbone_ok_int(jsonb, boolean);

ALTER TABLE hub_status ADD COLUMN retry_at timestamptz;
