// The sample CRM page: the authproxy SDK does discovery, the popup and the relay;
// the page hands the session to the webphone iframe with postMessage, to the
// webphone's exact origin.
const BROKER = 'http://127.0.0.1:8080';
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

function loggedIn(newSession) {
  session = newSession;
  $('session-user').textContent = session.username;
  $('session-realm').textContent = session.authority;
  $('session').hidden = false;
  $('logout-button').hidden = false;
  status('');
  webphone.contentWindow.postMessage({ type: 'authproxy:session', session }, window.location.origin);
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  status('Waiting for the login in the popup…');
  // Called straight from the submit handler: the SDK opens the popup before any await.
  sdk.login({ username: $('username').value.trim() }).then(loggedIn, (error) => {
    const hints = {
      PopupBlocked: 'Allow popups for this page.',
      PopupClosed: 'The popup was closed before the login finished.',
      SsoNotEnabled: 'This user logs in with a password, not single sign-on.',
      UnknownUser: 'No such user.',
    };
    status(`${error.name}: ${hints[error.name] || error.message}`, true);
  });
});

$('logout-button').addEventListener('click', () => {
  sdk.logout(session).then(() => {
    session = null;
    $('session').hidden = true;
    $('logout-button').hidden = true;
    webphone.contentWindow.postMessage({ type: 'authproxy:logout' }, window.location.origin);
    status('Logged out.');
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
