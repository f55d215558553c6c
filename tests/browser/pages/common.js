// Shared by the fixture pages: configuration, the SDK (loaded from the broker, as
// integrators load it) and a place to show results to the tests.
import config from '/config.js';

export { config };

export async function loadSdk() {
  return import(`${config.broker}/sdk/authproxy.js`);
}

export function show(id, value) {
  document.getElementById(id).textContent = typeof value === 'string' ? value : JSON.stringify(value);
}

export function describeError(error) {
  return { ok: false, name: error.name, code: error.code, message: error.message, userMessage: error.userMessage };
}
