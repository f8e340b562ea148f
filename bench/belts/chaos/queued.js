// The same count by a belt with a scale: it runs as a runBelt activity on a task queue of its own
// and is applied by applyBatch, the path a killed worker holds longest.
function execute(headers, payload) {
  return { _operation: '_increment', _id: headers['grnry-correlation-id'], _path: ['queued'], _value: { _v: 1 } };
}
