// The broker the sample pages use: the demo's (scripts/demo).
export const BROKER = 'http://127.0.0.1:8080';
