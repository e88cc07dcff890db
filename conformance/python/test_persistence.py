"""Data survives a SIGTERM + restart on the same database (own server, own temp db)."""

from __future__ import annotations

from conftest import bootstrap_db, database_url, make_client, unique, unique_email
from helpers import ROLE_ADMINISTRATOR, TPG_ACCOUNT_SETTINGS_READ, account_policy


def test_restart_keeps_members_and_tokens(tmp_path, fresh_server):
    db_url = database_url(tmp_path / "p.db")
    boot = bootstrap_db(db_url, account_name="Persistence", email="persist@example.com")
    a = boot["account_id"]

    first = fresh_server(db_url)
    c1 = make_client(first.base_url, api_email=boot["email"], api_key=boot["api_key"])
    email = unique_email("persist")
    member = c1.accounts.members.create(account_id=a, email=email, roles=[ROLE_ADMINISTRATOR])
    token = c1.accounts.tokens.create(
        account_id=a, name=unique("persist token"), policies=[account_policy(a, TPG_ACCOUNT_SETTINGS_READ)]
    )
    member_before = c1.accounts.members.with_raw_response.get(member.id, account_id=a).json()["result"]
    token_before = c1.accounts.tokens.with_raw_response.get(token.id, account_id=a).json()["result"]
    c1.close()

    code = first.stop()
    assert code is not None, "server did not exit within the timeout after SIGTERM"

    second = fresh_server(db_url)
    c2 = make_client(second.base_url, api_email=boot["email"], api_key=boot["api_key"])
    try:
        assert c2.accounts.get(account_id=a).name == "Persistence"
        assert c2.accounts.members.with_raw_response.get(member.id, account_id=a).json()["result"] == member_before
        assert member.id in [m.id for m in c2.accounts.members.list(account_id=a)]
        token_after = c2.accounts.tokens.with_raw_response.get(token.id, account_id=a).json()["result"]
        # last_used_on may legitimately advance; nothing else may change.
        token_after.pop("last_used_on", None)
        token_before.pop("last_used_on", None)
        assert token_after == token_before
        assert token.id in [t.id for t in c2.accounts.tokens.list(account_id=a)]
        # The token value (stored as a hash) still authenticates, and so does the bootstrap token.
        tc = make_client(second.base_url, api_token=token.value)
        assert tc.accounts.tokens.verify(account_id=a).id == token.id
        tc.close()
        bc = make_client(second.base_url, api_token=boot["api_token"])
        assert bc.accounts.tokens.verify(account_id=a).id == boot["api_token_id"]
        bc.close()
    finally:
        c2.close()
