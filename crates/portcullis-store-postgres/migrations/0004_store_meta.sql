-- Version 4: nothing to do on PostgreSQL. SQLite's 0004 adds a change counter that a serving
-- process polls to hear writes made by commands run next to it; PostgreSQL announces every
-- change with NOTIFY (see the adapter), so it needs no such table. Kept so that both backends
-- carry the same migration versions.

select 1;
