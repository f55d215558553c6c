// Dynamics 365 Channel Integration Framework provider: the login popup opens from
// the panel's cross-site iframe and the session comes back through the broker's
// relay (no third-party cookie needed). Signed in, the provider takes click-to-act.
import { broker, cifLibrary } from '../config.js';
import { loadScript } from '../load-script.js';

const [{ AuthProxy }] = await Promise.all([import(`${broker}/sdk/authproxy.js`), loadScript(cifLibrary)]);
const cif = Microsoft.CIFramework;
const sdk = new AuthProxy({ broker, clientId: location.host });
const $ = (id) => document.getElementById(id);
let session = null;

async function render(error) {
  $('signed-out').hidden = Boolean(session);
  $('signed-in').hidden = !session;
  $('who').textContent = session ? `Signed in as ${session.username} (realm ${session.authority.split('/realms/')[1]}).` : '';
  $('error').hidden = !error;
  $('error').textContent = error ? error.userMessage : '';
  // Click-to-act (phone numbers in Dynamics call this provider) only while signed in.
  await cif.setClickToAct(Boolean(session));
}

$('signed-out').addEventListener('submit', (event) => {
  event.preventDefault();
  sdk.login({ username: $('username').value }).then((s) => { session = s; return render(); }, render);
});
$('logout').addEventListener('click', () => {
  sdk.logout(session).then(() => { session = null; return render(); }, render);
});
await cif.addHandler('onclicktoact', (payload) => {
  const { value } = JSON.parse(payload);
  $('call').textContent = `Calling ${value}…`;
  return Promise.resolve();
});
await cif.setMode(1);
await render();
document.body.dataset.ready = 'true';
