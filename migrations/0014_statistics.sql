-- 0014: players online over time (issue 15).
--
-- The owner of the hub link records, at each slot of
-- grapevine_statistics_interval (aligned to the clock, UTC), each game's
-- players online and the network's total, with
-- backbone_statistics_record() (sql/backbone/).  A slot is recorded only
-- while the link is live: a slot missed while the hub or the database was
-- away has no row at all, a gap, never a zero.
--
-- statistics: full detail, one row a slot for the network (game_id 0,
--   always written in a recorded slot, with the slot's length in
--   seconds) and one for each game that had players (a game without a
--   row in a recorded slot had none);
-- statistics_hourly: the same, each hour's maximum, kept longer.
--
-- Both are keyed by (game, slot), so that two instances (or an owner that
-- changed in the middle of a slot) never write a slot twice: the first
-- write wins.  The key includes the players, so that a chart reads a
-- game's points from the index alone (its rows are spread over the whole
-- table, a slot's rows together): for that, autovacuum keeps the tables'
-- visibility map up to date every 5,000 rows inserted, whatever their
-- size.  Old rows are deleted in small batches (backbone_statistics_prune()),
-- along the index on the time.
--
-- compatible: 10

CREATE TABLE statistics (
    game_id  bigint NOT NULL,             -- 0: the network's total
    slot     timestamptz NOT NULL,        -- the slot's start
    players  integer NOT NULL,
    seconds  integer,                     -- the network's row: the length
                                          -- of the slot
    PRIMARY KEY (game_id, slot) INCLUDE (players)
) WITH (autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 5000);

CREATE INDEX statistics_slot_idx ON statistics (slot);

CREATE TABLE statistics_hourly (
    game_id  bigint NOT NULL,             -- 0: the network's total
    hour     timestamptz NOT NULL,
    players  integer NOT NULL,            -- the hour's maximum
    PRIMARY KEY (game_id, hour) INCLUDE (players)
) WITH (autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 5000);

CREATE INDEX statistics_hourly_hour_idx ON statistics_hourly (hour);
