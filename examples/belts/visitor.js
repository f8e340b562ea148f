// The example belt `npm start` loads: for every Snowplow event, what a profile of a visitor
// usually starts with. `headers` carry the seed's grnry-* keys; `payload` is the event in the
// Snowplow Analytics SDK JSON shape. A third argument, the
// visitor's current profile (or null), is there for belts that need it.
function execute(headers, payload) {
  const id = headers['grnry-correlation-id'];
  const updates = [
    Update(id, ['last_seen'], new Date(headers['grnry-created']).toISOString()),
    { _operation: '_increment', _id: id, _path: ['counts', payload.event_name || 'unknown'], _value: { _v: 1 } },
  ];
  if (payload.page_url) updates.push(Update(id, ['last_page'], payload.page_url));
  if (payload.app_id) updates.push(Update(id, ['app_id'], payload.app_id));
  if (payload.event_name === 'add_to_cart') {
    const item = payload.unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1;
    if (item && item.sku) updates.push(Update(id, ['cart', item.sku], item.quantity || 1));
  }
  return updates;
}
