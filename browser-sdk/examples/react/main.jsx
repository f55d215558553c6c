// The React example: built with esbuild (`esbuild main.jsx --bundle`), the SDK
// from its npm package.
import { createRoot } from 'react-dom/client';
import { useMemo, useState } from 'react';
import { AuthProxy } from '@authproxy/browser-sdk';
import { broker } from '../config.js';
import { useAuthProxy } from './use-authproxy.js';

function Webphone() {
  const sdk = useMemo(() => new AuthProxy({ broker, clientId: location.host }), []);
  const { session, error, busy, login, logout } = useAuthProxy(sdk);
  const [username, setUsername] = useState('');
  return (
    <main>
      <h1>Webphone</h1>
      {session ? (
        <div id="signed-in">
          <p id="who" role="status">
            Signed in as {session.username} (realm {session.authority.split('/realms/')[1]}).
          </p>
          <button id="logout" type="button" onClick={logout}>Log out</button>
        </div>
      ) : (
        <form id="signed-out" onSubmit={(event) => { event.preventDefault(); login(username); }}>
          <label>
            Work email{' '}
            <input id="username" type="email" autoComplete="username" required
              value={username} onChange={(event) => setUsername(event.target.value)} />
          </label>
          <button id="login" type="submit" disabled={busy}>Log in</button>
        </form>
      )}
      {error && <p id="error" role="alert">{error.userMessage}</p>}
    </main>
  );
}

createRoot(document.getElementById('root')).render(<Webphone />);
document.body.dataset.ready = 'true';
