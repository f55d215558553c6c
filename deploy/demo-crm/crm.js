// The sample CRM page: the authproxy SDK does discovery, the popup and the relay;
// the page hands the session to the webphone iframe with postMessage, to the
// webphone's exact origin. One of "Log in" and "Log out" shows at a time.
import { APP, BROKER } from './config.js';

const { AuthProxy } = await import(`${BROKER}/sdk/authproxy.js`);

// By convention the client ID is the page's host. `persist` survives reloads.
const sdk = new AuthProxy({ broker: BROKER, clientId: window.location.host, persist: 'session' });
const webphone = document.getElementById('webphone');
const $ = (id) => document.getElementById(id);
let session = null;

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function show(signedIn) {
  $('login-form').hidden = signedIn;
  $('session').hidden = !signedIn;
}

function loggedIn(newSession) {
  session = newSession;
  $('session-user').textContent = session.username;
  // The realm's name, the last part of its URL (…/realms/tenant-a).
  $('session-realm').textContent = session.authority.split('/realms/')[1] || session.authority;
  show(true);
  status('');
  webphone.contentWindow.postMessage({ type: 'authproxy:session', session }, window.location.origin);
}

// Discovery as the user types: a name that is unknown or not enabled for SSO is
// then refused at the click without a sign-in window flashing open and shut.
let typing;
$('username').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => sdk.discover($('username').value.trim()).then(() => status(''), (error) => {
    if (error.name === 'SsoNotEnabled' || error.name === 'UnknownUser') status(error.userMessage, true);
  }), 400);
});

// The host's Cancel: the login window may be out of sight (behind the CRM, or
// cut off by the page's Cross-Origin-Opener-Policy) and the person gives up.
let cancel = null;
$('cancel-button').addEventListener('click', () => cancel?.abort());

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  status('Waiting for the sign-in window…');
  cancel = new AbortController();
  $('cancel-button').hidden = false;
  // Called straight from the submit handler: the SDK opens the popup before any await.
  sdk.login({ username: $('username').value.trim(), signal: cancel.signal }).then(loggedIn, (error) => {
    // A sentence the person can act on; the technical message goes to the console.
    console.info(`login: ${error.name}: ${error.message}`);
    status(error.userMessage, error.name !== 'Aborted');
  }).finally(() => {
    $('cancel-button').hidden = true;
  });
});

$('logout-button').addEventListener('click', () => {
  sdk.logout(session).then(() => {
    session = null;
    show(false);
    webphone.contentWindow.postMessage({ type: 'authproxy:logout' }, window.location.origin);
    status('You are signed out.');
  });
});

// The webphone says when it listens; a reload then restores the kept session
// (persist: 'session') without a new login.
window.addEventListener('message', (event) => {
  if (event.origin !== window.location.origin || event.source !== webphone.contentWindow) return;
  if (event.data?.type !== 'webphone:ready') return;
  const restored = session || sdk.restore();
  if (restored) loggedIn(restored);
});
// The embedded app: the CRM's backend (host_backend.py) makes a host token for
// its signed-in user; the page puts it in the frame's fragment, which never
// reaches a server.
async function openApp(tamper) {
  $('app-note').textContent = '';
  const response = await fetch('/host/token', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tamper }),
  }).catch(() => null);
  const body = await response?.json().catch(() => ({}));
  if (!response?.ok || !body?.token) {
    $('app-note').textContent = `The CRM's backend made no token: ${body?.error || 'it did not answer'}.`;
    return;
  }
  // A new frame each time: a new fragment alone would not load the app again.
  const frame = $('app').cloneNode();
  frame.src = `${APP}/embedded-app.html#token=${body.token}`;
  $('app').replaceWith(frame);
}
$('open-app').addEventListener('click', () => openApp(false));
$('open-app-tampered').addEventListener('click', () => openApp(true));

document.body.dataset.ready = 'true';
