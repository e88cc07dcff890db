// client.accounts.tokens.*: /accounts/{a}/tokens[/{id}[/value]], /verify, /permission_groups
import assert from 'node:assert/strict';
import { tokenSuite } from './lib/token-suite.mjs';
import { TOKEN_GROUPS } from './lib/catalog.mjs';

tokenSuite({
  title: 'accounts.tokens (account-owned API tokens)',
  // The bootstrap account-owned token manages the account's tokens.
  owner: (srv, extra = {}) => srv.tokenClient(srv.boot.api_token, extra),
  ops: (client, srv) => {
    const account_id = srv.boot.account_id;
    return {
      create: (body) => client.accounts.tokens.create({ account_id, ...body }),
      list: (q = {}) => client.accounts.tokens.list({ account_id, ...q }),
      get: (id) => client.accounts.tokens.get(id, { account_id }),
      update: (id, body) => client.accounts.tokens.update(id, { account_id, ...body }),
      delete: (id) => client.accounts.tokens.delete(id, { account_id }),
      roll: (id) => client.accounts.tokens.value.update(id, { account_id }),
      verify: () => client.accounts.tokens.verify({ account_id }),
      pg: (q = {}) => client.accounts.tokens.permissionGroups.list({ account_id, ...q }),
    };
  },
  resourceKey: (srv) => `com.cloudflare.api.account.${srv.boot.account_id}`,
  groupName: 'Account Settings Read',
  otherGroupName: 'Account API Tokens Read',
  // An account-owned token presented at /user/tokens/verify.
  verifyElsewhere: (srv, value) => srv.tokenClient(value).user.tokens.verify(),
  // Cloudflare's `Invalid API Token` (1000): wrangler tells account tokens apart by it.
  verifyElsewhereCode: 1000,
  assertCatalog: (ids) => {
    // account-, zone- and bucket-scoped groups; no user-scoped ones.
    const expected = TOKEN_GROUPS.filter(([, , s]) => s !== 'com.cloudflare.api.user').map(([id]) => id);
    const userScoped = TOKEN_GROUPS.filter(([, , s]) => s === 'com.cloudflare.api.user').map(([id]) => id);
    for (const id of userScoped) assert.ok(!ids.has(id), `user-scoped group ${id} must not be listed`);
    assert.deepEqual([...ids].sort(), [...expected].sort());
  },
});
