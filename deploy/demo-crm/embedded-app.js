// The embedded app's side of host tokens: the page a host frames with
// `#token=<host token>` (its backend made the token for its signed-in user). The
// SDK reads the token out of the address (and out of the history), redeems it
// once, and the app shows who is signed in, or why not: the code and the debug
// id always, and for a sandbox tenant the reason (bad_signature, expired,
// replayed_jti, ...).
import { BROKER } from './config.js';

const { AuthProxy } = await import(`${BROKER}/sdk/authproxy.js`);
// This page's own host is its client ID, registered with its origin.
const sdk = new AuthProxy({ broker: BROKER, clientId: window.location.host });
const $ = (id) => document.getElementById(id);

function show(status, on, details) {
  $('app-status').textContent = status;
  $('app-status').className = on ? 'on' : 'off';
  $('app-details').replaceChildren(...details.flatMap(([term, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    const code = document.createElement('code');
    code.textContent = value;
    dd.append(code);
    return [dt, dd];
  }));
}

try {
  const session = await sdk.embed.fromFragment();
  if (session) {
    show(`signed in as ${session.user.name || session.sub}`, true, [
      ['tenant', session.tenant],
      ['host user', session.sub],
      ['Keycloak token for', session.keycloakSession.authority],
    ]);
    session.watch({ onEnded: (reason) => show(`signed out (${reason ?? 'ended'})`, false, []) });
  } else if (sdk.embed.lastRefusal) {
    const { code, debugId, reason } = sdk.embed.lastRefusal;
    show('not signed in: the broker refused the token', false, [
      ['code', code],
      ['why', reason ?? 'in the audit trail (production tenants never say)'],
      ['debug id', debugId ?? '-'],
    ]);
  } else {
    show('not signed in: no token in the address', false, []);
  }
} catch (error) {
  show(`not signed in: ${error.message}`, false, []);
}
document.body.dataset.ready = 'true';
