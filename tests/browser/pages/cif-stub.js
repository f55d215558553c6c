// A stand-in for Dynamics 365's Channel Integration Framework library
// (msdyn_ciLibrary.js): Microsoft.CIFramework's calls answer promises and are
// recorded; a test fires click-to-act as Dynamics does for a phone number.
window.cifCalls = [];
const handlers = {};
window.Microsoft = {
  CIFramework: {
    async setMode(mode) { window.cifCalls.push(['setMode', mode]); return true; },
    async setClickToAct(value) { window.cifCalls.push(['setClickToAct', value]); return true; },
    async addHandler(name, handler) { window.cifCalls.push(['addHandler', name]); handlers[name] = handler; return true; },
  },
};
window.clickToActForTest = (value) => handlers.onclicktoact?.(JSON.stringify({ value, name: 'Contact', format: 'Phone' }));
