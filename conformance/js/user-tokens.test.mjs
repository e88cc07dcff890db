// client.user.tokens.*: /user/tokens[/{id}[/value]], /verify, /permission_groups — with an email+key
// client (no apiToken: Bearer would win).
import assert from 'node:assert/strict';
import { tokenSuite } from './lib/token-suite.mjs';
import { TOKEN_GROUPS } from './lib/catalog.mjs';

tokenSuite({
  title: 'user.tokens (user-owned API tokens)',
  owner: (srv, extra = {}) => srv.keyClient(srv.boot.email, srv.boot.api_key, extra),
  ops: (client) => ({
    create: (body) => client.user.tokens.create(body),
    list: (q = {}) => client.user.tokens.list(q),
    get: (id) => client.user.tokens.get(id),
    update: (id, body) => client.user.tokens.update(id, body),
    delete: (id) => client.user.tokens.delete(id),
    roll: (id) => client.user.tokens.value.update(id),
    verify: () => client.user.tokens.verify(),
    pg: (q = {}) => client.user.tokens.permissionGroups.list(q),
  }),
  resourceKey: (srv) => `com.cloudflare.api.user.${srv.boot.user_id}`,
  groupName: 'API Tokens Read',
  otherGroupName: 'Memberships Read',
  // A user-owned token presented at /accounts/{a}/tokens/verify.
  verifyElsewhere: (srv, value) => srv.tokenClient(value).accounts.tokens.verify({ account_id: srv.boot.account_id }),
  assertCatalog: (ids) => {
    // every group, the com.cloudflare.api.user ones included
    const userScoped = TOKEN_GROUPS.filter(([, , s]) => s === 'com.cloudflare.api.user').map(([id]) => id);
    for (const id of userScoped) assert.ok(ids.has(id), `user-scoped group ${id} must be listed`);
    assert.deepEqual([...ids].sort(), TOKEN_GROUPS.map(([id]) => id).sort());
  },
});
