// Salesforce Open CTI connector: the frame that owns the login. It prepares one
// (only a handle, no secret, leaves this frame), asks the host to show the login
// frame with that handle, and completes the login with its secret. Once signed
// in, it turns on click-to-dial through Open CTI.
import { broker, openCtiLibrary } from '../config.js';
import { loadScript } from '../load-script.js';

const [{ AuthProxy }] = await Promise.all([import(`${broker}/sdk/authproxy.js`), loadScript(openCtiLibrary)]);
const sdk = new AuthProxy({ broker, clientId: location.host });
const $ = (id) => document.getElementById(id);

const { handle, secret } = await sdk.prepare();
// The host loads the login frame (login.html#<handle>) when the connector asks.
parent.postMessage({ type: 'authproxy:need-login', handle }, '*');
sforce.opencti.setSoftphonePanelVisibility({ visible: true });

try {
  const session = await sdk.complete(secret);
  $('phone-status').textContent = `Signed in as ${session.username} (realm ${session.authority.split('/realms/')[1]}).`;
  sforce.opencti.enableClickToDial({ callback: () => {} });
  sforce.opencti.onClickToDial({
    listener: (payload) => { $('call').textContent = `Calling ${payload.number}…`; },
  });
} catch (error) {
  $('phone-status').textContent = error.userMessage;
}
document.body.dataset.ready = 'true';
