-- 0015: the charts' points kept ready (issue 15's benchmark goal).
--
-- A chart over 48 hours, 7 days or 30 days is a few hundred points, each
-- the maximum over its step of the rows of migrations/0014_statistics.sql.
-- Reads vastly outnumber writes, so the owner of the hub link keeps them
-- when it records a slot (backbone_statistics_keep(), sql/backbone/), and a
-- page reads a row or two (statistics_points()) instead of grouping up to
-- 1,440 rows of a game and as many of the network.
--
-- statistics_kept: a row per period ('48h', '7d', '30d') for the network
--   (game_id 0) and for each game with a row of its own in the period's
--   window: `points` are the maxima of its own rows over the window's
--   steps (oldest first, NULL in a step where it has none), the window
--   ending with the step that starts at `last_step`.  A chart combines the
--   game's points with the network's (a step where the network has a
--   point was recorded: the game's maximum there, or 0).  A game's row is
--   written only in the slots where it has a row of its own, so its
--   `last_step` may be older than the network's: its points after it are
--   NULL.  The network's row with last_step NULL: the period is not kept
--   (the retention is shorter than its window), its charts are computed
--   from the rows.  A row is at most 192 integers: kept inline, updated
--   in place (fillfactor: room on the page for a HOT update).
--
-- compatible: 10

CREATE TABLE statistics_kept (
    game_id    bigint NOT NULL,           -- 0: the network's total
    period     text NOT NULL,             -- '48h', '7d' or '30d'
    step       interval NOT NULL,         -- the points' step
    last_step  timestamptz,               -- the newest point's step
    points     integer[],
    PRIMARY KEY (game_id, period)
) WITH (fillfactor = 50);
