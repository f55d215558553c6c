// A Vue composable for "log in / logged in / log out" with the authproxy SDK.
import { ref } from 'vue';

/**
 * `const { session, error, busy, login, logout } = useAuthProxy(sdk)`, each a
 * ref or a function. Call `login(username)` and `logout()` straight from a click
 * handler: the SDK opens its popup synchronously.
 */
export function useAuthProxy(sdk) {
  const session = ref(sdk.restore());
  const error = ref(null);
  const busy = ref(false);

  function login(username) {
    error.value = null;
    busy.value = true;
    return sdk.login({ username })
      .then((s) => { session.value = s; }, (e) => { error.value = e; })
      .finally(() => { busy.value = false; });
  }

  function logout() {
    error.value = null;
    return sdk.logout(session.value).then(() => { session.value = null; }, (e) => { error.value = e; });
  }

  return { session, error, busy, login, logout };
}
