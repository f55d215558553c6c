// The browser scenarios that meet Keycloak itself, against a real Keycloak 26.7:
// the conformance suite's (it runs this file, with AUTHPROXY_TEST_KEYCLOAK_URL),
// or one of its own (scripts/run-keycloak) when run alone with
// `node --test keycloak/`. Its login pages, its
// brokering to corp-idp, keycloak-js' token refresh through the client's web
// origins (CORS), and keycloak-js' own check-sso with Keycloak's real
// third-party-cookie pages. The page clients are created by the broker's
// `clients sync`, not by the realm import.
import fs from 'node:fs';
import { after, before, test as nodeTest } from 'node:test';
import { startEnvironment } from '../harness.js';
import * as scenarios from '../scenarios.js';

let env;
before(async () => { env = await startEnvironment({ keycloak: true }); }, { timeout: 400000 });
after(() => env?.stop());

// Every scenario has a time limit; a failure shows the end of Keycloak's log.
const test = (name, body) => nodeTest(`Keycloak: ${name}`, { timeout: 90000 }, async () => {
  try {
    await body();
  } catch (error) {
    const log = env?.keycloakLog ? fs.readFileSync(env.keycloakLog, 'utf8').split('\n').slice(-60).join('\n') : '';
    console.error(`--- the end of Keycloak's log ---\n${log}`);
    throw error;
  }
});

test('the SDK popup logs alice in at Keycloak\'s own form; keycloak-js in the webphone refreshes through CORS', () => scenarios.brokerMode(env));
test('carol goes through kc_idp_hint to corp-idp and ends at tenant-a', () => scenarios.carolViaCorpIdp(env));
test('the seed\'s own flow: keycloak-js createLoginUrl, /authproxy/{client_id}, then check-sso', () => scenarios.seedPassThrough(env));
test('COOP on the CRM page: the relay and the user\'s approval complete the login', () => scenarios.coopRelay(env));
test('third-party cookies allowed: keycloak-js check-sso in the iframe sees the session (Keycloak\'s 3p-cookies pages)', () => scenarios.thirdPartyCookiesAllowed(env));
test('third-party cookies blocked: the SDK still logs in from the iframe; keycloak-js check-sso cannot', () => scenarios.thirdPartyCookiesBlocked(env));
test('logout in the popup finishes: Keycloak\'s end-session redirect back to the broker is allowed, and the next login asks again', () => scenarios.logoutAsksAgain(env));
