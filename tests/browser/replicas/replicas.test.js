// The core browser scenarios through three replicas of the broker on one
// PostgreSQL and one Redis, behind nginx round-robin without session affinity:
// /login, the realm's redirect back, the completion page, the confirmation and
// the relay's long polls each land on whichever replica nginx picks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { signIn, startEnvironment, withBrowser } from '../harness.js';
import * as scenarios from '../scenarios.js';

let env;
before(async () => { env = await startEnvironment({ replicas: 3 }); }, { timeout: 120000 });
after(() => env?.stop());

test('three replicas: the SDK popup logs alice in and the webphone runs keycloak-js', () => scenarios.brokerMode(env));
test('three replicas: COOP on the CRM page, completed through the relay and the user\'s approval', () => scenarios.coopRelay(env));
test('three replicas: third-party cookies blocked, the SDK logs in from the partitioned iframe', () => scenarios.thirdPartyCookiesBlocked(env));

test('three replicas: a result Redis lost before the confirmation ends the login with result_lost', async () => {
  await withBrowser('result lost', {}, async (context) => {
    const page = await scenarios.openCrmPage(env, context);
    // Just before the SDK confirms, the login state in Redis is gone (as after a
    // restart of Redis without persistence).
    await context.route(`${env.broker}/api/handoff/confirm`, async (route) => {
      const keys = execFileSync('redis-cli', ['-u', env.redis.url, '--scan', '--pattern', `${env.redis.prefix}*`])
        .toString().split('\n').filter(Boolean);
      if (keys.length) execFileSync('redis-cli', ['-u', env.redis.url, 'DEL', ...keys]);
      await route.continue();
    });
    const popup = await scenarios.clickLogin(context, page);
    await signIn(popup, 'alice@tenant-a.test', 'alice');
    const outcome = await scenarios.result(page);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, 'LoginFailed');
    assert.equal(outcome.code, 'result_lost');
  });
});

test('every replica served part of the logins', () => {
  // Each replica logs the requests it served: round-robin gave each a share.
  for (const log of env.replicaLogs) {
    const served = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('route=')).length;
    assert.ok(served > 0, `${log} served no request`);
  }
});
