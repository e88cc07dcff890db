-- Version 5: `account.user_group_count` (the total of user-group list pages) is kept by the
-- database itself, in the statement that adds or removes a group, rather than by a second
-- statement in the same transaction: one round trip less per create and delete, and no way for
-- a write path to forget it. PostgreSQL's 0005 adds the same rule as a trigger function.

create trigger user_group_counted after insert on user_group
begin
    update account set user_group_count = user_group_count + 1 where id = new.account_id;
end;

create trigger user_group_uncounted after delete on user_group
begin
    update account set user_group_count = user_group_count - 1 where id = old.account_id;
end;
