// A React hook for "log in / logged in / log out" with the authproxy SDK.
import { useCallback, useState } from 'react';

/**
 * `const { session, error, busy, login, logout } = useAuthProxy(sdk)`.
 * Call `login(username)` and `logout()` straight from a click handler: the SDK
 * opens its popup synchronously, before anything is awaited.
 */
export function useAuthProxy(sdk) {
  const [session, setSession] = useState(() => sdk.restore());
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const login = useCallback((username) => {
    setError(null);
    setBusy(true);
    return sdk.login({ username })
      .then(setSession, setError)
      .finally(() => setBusy(false));
  }, [sdk]);

  const logout = useCallback(() => {
    setError(null);
    return sdk.logout(session).then(() => setSession(null), setError);
  }, [sdk, session]);

  return { session, error, busy, login, logout };
}
