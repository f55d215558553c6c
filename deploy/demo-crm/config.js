// The broker the sample pages use: the demo's (scripts/demo).
export const BROKER = 'http://127.0.0.1:8080';
// The embedded app's origin: the same server under another name, so the app is
// on another site than the CRM page (localhost), as embedded apps are.
export const APP = 'http://127.0.0.1:8081';
