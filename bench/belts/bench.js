// The benchmark's belt: one trivial update per event, so the figures measure the pipeline.
function execute(headers, payload) {
  return Update(headers['grnry-correlation-id'], ['v'], payload.se_value);
}
