// A stand-in for Salesforce's Open CTI library (opencti_min.js): it records the
// connector's calls and lets a test dial, as a click on a phone number would.
window.openCtiCalls = [];
const listeners = {};
window.sforce = {
  opencti: {
    setSoftphonePanelVisibility(args) { window.openCtiCalls.push(['setSoftphonePanelVisibility', args.visible]); args.callback?.({ success: true }); },
    enableClickToDial(args) { window.openCtiCalls.push(['enableClickToDial']); args.callback?.({ success: true }); },
    onClickToDial(args) { window.openCtiCalls.push(['onClickToDial']); listeners.dial = args.listener; },
  },
};
window.dialForTest = (number) => listeners.dial?.({ number, recordId: '003xx000004TmiQ', objectType: 'Contact' });
