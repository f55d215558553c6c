// The dev IdP's fixed realms and users: the demo data docs/src/demo.md documents.
export const REALMS = {
  'tenant-a': {
    displayName: 'Tenant A',
    users: [
      { id: 'a1f0c1de-0000-4000-8000-00000000a11c', username: 'alice', email: 'alice@tenant-a.test', name: 'Alice Anders', password: 'alice' },
      { id: 'a1f0c1de-0000-4000-8000-0000000001e9', username: 'legacy', email: 'legacy@tenant-a.test', name: 'Legacy User', password: 'legacy' },
    ],
    // Keycloak "identity providers" of this realm, selected with kc_idp_hint.
    identityProviders: { 'corp-idp': { realm: 'corp-idp', clientId: 'tenant-a-broker', clientSecret: 'tenant-a-broker-secret' } },
  },
  'tenant-b': {
    displayName: 'Tenant B',
    users: [
      { id: 'b0b0b0b0-0000-4000-8000-000000000b0b', username: 'bob', email: 'bob@tenant-b.test', name: 'Bob Berg', password: 'bob' },
    ],
    identityProviders: {},
  },
  'corp-idp': {
    displayName: 'Corp IdP (external)',
    users: [
      { id: 'c0c0c0c0-0000-4000-8000-0000000ca201', username: 'carol', email: 'carol@corp.test', name: 'Carol Corp', password: 'carol' },
    ],
    identityProviders: {},
  },
};

/** The confidential client authproxy uses for client credentials, token exchange and Admin REST. */
export const BROKER_CLIENT = { clientId: 'authproxy-broker', secret: 'authproxy-broker-secret' };
/** Confidential clients with the same rights (a test can watch one of its own). */
export const BROKER_CLIENTS = [
  BROKER_CLIENT,
  { clientId: 'authproxy-broker-2', secret: 'authproxy-broker-2-secret' },
  // Lacks the users' `impersonate` permission: the realm refuses its exchanges.
  { clientId: 'authproxy-no-impersonation', secret: 'authproxy-no-impersonation-secret', impersonation: false },
  // As on a Keycloak without the legacy token exchange (features token-exchange:v1 and
  // admin-fine-grained-authz:v1): only the standard exchange, which cannot impersonate.
  { clientId: 'authproxy-standard-exchange', secret: 'authproxy-standard-exchange-secret', legacyExchange: false },
];

/** Finds a user of a realm by id, username or email (Keycloak accepts all three at login). */
export function findUser(realm, name) {
  if (typeof name !== 'string') return undefined;
  const wanted = name.toLowerCase();
  return realm.users.find((u) => u.id === name || u.username === wanted || u.email === wanted);
}
