// Plain HTML: the SDK as the broker serves it, one click handler per button.
import { broker } from '../config.js';

const { AuthProxy } = await import(`${broker}/sdk/authproxy.js`);
// The client ID is this web app's host name, registered with its origin.
const sdk = new AuthProxy({ broker, clientId: location.host });
const $ = (id) => document.getElementById(id);
let session = null;

function render(error) {
  $('signed-out').hidden = Boolean(session);
  $('signed-in').hidden = !session;
  if (session) $('who').textContent = `Signed in as ${session.username} (realm ${session.authority.split('/realms/')[1]}).`;
  $('error').hidden = !error;
  // A sentence the person can act on; error.message stays technical (for logs).
  $('error').textContent = error ? error.userMessage : '';
}

// The popup must open inside the click: login() is called before anything is awaited.
$('signed-out').addEventListener('submit', (event) => {
  event.preventDefault();
  sdk.login({ username: $('username').value }).then((s) => { session = s; render(); }, render);
});
$('logout').addEventListener('click', () => {
  sdk.logout(session).then(() => { session = null; render(); }, render);
});
render();
document.body.dataset.ready = 'true';
