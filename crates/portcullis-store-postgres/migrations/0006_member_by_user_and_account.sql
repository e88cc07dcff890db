-- Version 6 (same on SQLite and PostgreSQL): a user's membership of one account is found through
-- an index on (user_id, account_id) rather than on user_id alone. With the old index PostgreSQL's
-- generic plan for "this user in this account" read every membership of the user and filtered
-- by account: 10,000 rows for a user who belongs to 10,000 accounts, on every cold lookup. The
-- new index also serves every lookup by user alone (its first column).
drop index member_by_user;
create index member_by_user on member (user_id, account_id);
