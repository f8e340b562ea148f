// The fault campaign's counting belt, run inside each batch's step: every event of the campaign
// has a profile of its own, so this counter says exactly how often the event was applied
// (0: lost, 2 or more: doubled). Two parameters: a one-parameter execute gets seed 000's envelope.
function execute(headers, payload) {
  return { _operation: '_increment', _id: headers['grnry-correlation-id'], _path: ['count'], _value: { _v: 1 } };
}
