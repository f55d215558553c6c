// The sample CRM page's login: discovery, a popup opened inside the click
// handler, and the relay (/api/handoff/wait) that delivers the result even when
// the popup has lost its opener. The popup's postMessage only updates the status;
// the relay redeems the result exactly once with the secret txn_verifier.
const BROKER = 'http://127.0.0.1:8080';
const CLIENT_ID = window.location.host; // by convention the client ID is the page's host

const $ = (id) => document.getElementById(id);
const status = (text, isError = false) => {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
};

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const randomValue = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

async function discover(username) {
  const response = await fetch(`${BROKER}/api/user/?user=${encodeURIComponent(username)}`);
  const body = await response.json();
  if (!response.ok) throw new Error(Object.values(body.errors).map((e) => e.message).join(' '));
  if (!body[0].authority) throw new Error(`${username} is not enabled for single sign-on.`);
  return body[0];
}

async function waitForResult(popup, txn, verifier) {
  const onMessage = (event) => {
    if (event.origin === BROKER && event.source === popup && event.data?.type === 'authproxy:login' && event.data.txn === txn) {
      status('Login complete, fetching the session…');
    }
  };
  window.addEventListener('message', onMessage);
  try {
    for (;;) {
      const asked = Date.now();
      const response = await fetch(`${BROKER}/api/handoff/wait`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ txn, txn_verifier: verifier }),
      });
      const body = await response.json();
      if (response.ok && body.pending) {
        // A long poll that came back early: pause before asking again.
        if (Date.now() - asked < 1000) await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (!response.ok) throw new Error(`Login failed: ${body.login_error || body.error} (${body.error_description})`);
      return body;
    }
  } finally {
    window.removeEventListener('message', onMessage);
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const username = $('username').value.trim();
  // Open the popup synchronously, inside the user's gesture, before any await.
  const popup = window.open('about:blank', 'authproxy-login', 'popup,width=520,height=680');
  if (!popup) {
    status('The popup was blocked: allow popups for this page.', true);
    return;
  }
  (async () => {
    status('Looking up the user…');
    await discover(username);
    const txn = randomValue();
    const verifier = randomValue();
    const params = new URLSearchParams({
      client_id: CLIENT_ID, user: username, origin: window.location.origin,
      txn, txn_challenge: await challengeOf(verifier),
    });
    popup.location.href = `${BROKER}/login?${params}`;
    status('Waiting for the login in the popup…');
    const session = await waitForResult(popup, txn, verifier);
    $('session-user').textContent = session.username;
    $('session-realm').textContent = session.authority;
    $('session').hidden = false;
    status('');
  })().catch((err) => {
    if (!popup.closed) popup.close();
    status(err.message, true);
  });
});
