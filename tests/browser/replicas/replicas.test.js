// The core browser scenarios through three replicas of the broker on one
// PostgreSQL and one Redis, behind nginx round-robin without session affinity:
// /login, the realm's redirect back, the completion page, the confirmation and
// the relay's long polls each land on whichever replica nginx picks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { startEnvironment } from '../harness.js';
import * as scenarios from '../scenarios.js';

let env;
before(async () => { env = await startEnvironment({ replicas: 3 }); }, { timeout: 120000 });
after(() => env?.stop());

test('three replicas: the SDK popup logs alice in and the webphone runs keycloak-js', () => scenarios.brokerMode(env));
test('three replicas: COOP on the CRM page, completed through the relay and the user\'s approval', () => scenarios.coopRelay(env));
test('three replicas: third-party cookies blocked, the SDK logs in from the partitioned iframe', () => scenarios.thirdPartyCookiesBlocked(env));

test('every replica served part of the logins', () => {
  // Each replica logs the requests it served: round-robin gave each a share.
  for (const log of env.replicaLogs) {
    const served = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('route=')).length;
    assert.ok(served > 0, `${log} served no request`);
  }
});
