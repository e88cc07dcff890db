-- Version 5: `account.user_group_count` (the total of user-group list pages) is kept by the
-- database itself, in the statement that adds or removes a group, rather than by a second
-- statement in the same transaction: one round trip less per create and delete, and no way for
-- a write path to forget it. SQLite's 0005 adds the same rule as two triggers.

create function count_user_groups() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update account set user_group_count = user_group_count + 1 where id = new.account_id;
    else
        update account set user_group_count = user_group_count - 1 where id = old.account_id;
    end if;
    return null;
end
$$;

create trigger user_group_counted after insert or delete on user_group
for each row execute function count_user_groups();
