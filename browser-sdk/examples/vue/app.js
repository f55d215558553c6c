// The Vue example: the composable in a component mounted on the page's template.
import { createApp, ref } from 'vue';
import { AuthProxy } from '@authproxy/browser-sdk';
import { broker } from '../config.js';
import { useAuthProxy } from './use-authproxy.js';

createApp({
  setup() {
    const sdk = new AuthProxy({ broker, clientId: location.host });
    return {
      ...useAuthProxy(sdk),
      username: ref(''),
      realmOf: (session) => session.authority.split('/realms/')[1],
    };
  },
}).mount('#app');
document.body.dataset.ready = 'true';
