// Where the examples find the broker: the demo's (`scripts/demo`). Point it at
// your broker; the page's origin must be registered for the client ID it uses.
export const broker = 'http://127.0.0.1:8080';
