-- Version 4: a one-row table whose `generation` counts the changes that invalidate every cache
-- (`Everything`: a user's key or operator flag set by `bootstrap` or `user-key`). Such a write
-- bumps it in its own transaction; a serving process polls it, so a key changed by a command
-- run next to a live server is seen by that server's credential index within the poll interval.
-- (PostgreSQL announces changes with NOTIFY instead; its 0004 only keeps versions aligned.)

create table store_meta (
    id integer primary key check (id = 1),
    generation integer not null default 0
);

insert into store_meta (id, generation) values (1, 0);
