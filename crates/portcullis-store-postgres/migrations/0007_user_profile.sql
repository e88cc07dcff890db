-- Version 7 (same on SQLite and PostgreSQL): the profile fields `PATCH /user` edits, besides
-- first and last name. Cloudflare's limits (country 30, telephone 20, zipcode 20 characters)
-- are checked by the service, like every other field length.
alter table app_user add column country text;
alter table app_user add column telephone text;
alter table app_user add column zipcode text;
