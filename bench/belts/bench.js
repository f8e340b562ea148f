// The benchmark's belt: one trivial update per event, so the figures measure the pipeline. The
// load generator puts its send time (epoch ms) in se_la; written into the profile, it lets the
// bench read each event's latency off its profile row alone (updated_at - sentAt).
function execute(headers, payload) {
  const id = headers['grnry-correlation-id'];
  const updates = [Update(id, ['v'], payload.se_value)];
  if (payload.se_label) updates.push(Update(id, ['sentAt'], Number(payload.se_label)));
  return updates;
}
