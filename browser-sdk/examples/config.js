// Where the examples find the broker: the demo's (`scripts/demo`). Point it at
// your broker; the page's origin must be registered for the client ID it uses.
export const broker = 'http://127.0.0.1:8080';

// Salesforce Open CTI's library, from your Salesforce domain (Lightning).
export const openCtiLibrary = 'https://yourdomain.my.salesforce.com/support/api/60.0/lightning/opencti_min.js';
// Dynamics 365 Channel Integration Framework's library, from your organisation.
export const cifLibrary = 'https://yourorg.crm.dynamics.com/webresources/Widget/msdyn_ciLibrary.js';
