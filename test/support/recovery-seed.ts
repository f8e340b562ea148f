/** The seed's (Snowplow's) example steps and conditions, verbatim. */
export const SEED_STEPS = {
  replace: { op: 'Replace', path: '$.raw.parameters.aid', match: '(?U)^.*$', value: 'https://console.snplow.com/' },
  remove: { op: 'Remove', path: '$.raw.parameters.aid', match: '(?U)^.*$' },
  cast: { op: 'Cast', path: ' $.raw.parameters.cx.data.[?(@.data.navigationStart=~([0-9]+))].data.domComplete', from: 'Numeric', to: 'Boolean' },
};
export const SEED_CONDITIONS = {
  value: { op: 'Test', path: '$.processor.artifact', value: { value: 'beam-enrich' } },
  regex: { op: 'Test', path: '$.payload.raw.vendor', value: { regex: 'com.snowplow\\.*' } },
  sizeEq: { op: 'Test', path: '$.processor.artifact', value: { size: { eq: 11 } } },
  sizeGt: { op: 'Test', path: '$.processor.artifact', value: { size: { gt: 3 } } },
  sizeLt: { op: 'Test', path: '$.processor.artifact', value: { size: { lt: 30 } } },
};

export const ADD_TO_CART = 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0';
const ue = (schema: string, data: unknown) => ({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema, data } });

/** Seed-style flows: a Cast for a quantity sent as text, a Remove for a property the schema does not allow (plus the seed's Replace on aid). */
export const RECOVERY_CONFIG = {
  schema_violations: [
    {
      name: 'fix-quantity',
      conditions: [
        { op: 'Test', path: '$.processor.artifact', value: { value: 'beltline' } },
        { op: 'Test', path: '$.failure.messages[*].error.dataReports[*].path', value: { regex: 'quantity' } },
        { op: 'Test', path: '$.payload.raw.parameters.ue_px.data.data.quantity', value: { size: { lt: 5 } } },
      ],
      steps: [
        { op: 'Cast', path: '$.raw.parameters.ue_px.data.data.quantity', from: 'String', to: 'Numeric' },
        { op: 'Replace', path: '$.raw.parameters.aid', match: '(?U)^.*$', value: 'recovered-shop' },
      ],
    },
    {
      name: 'drop-extra-property',
      conditions: [{ op: 'Test', path: '$.failure.messages[*].error.dataReports[*].keyword', value: { value: 'additionalProperties' } }],
      steps: [{ op: 'Remove', path: '$.raw.parameters.ue_pr.data.data', match: '^colour$' }],
    },
  ],
};

/**
 * Four tracker events through the collector (tp2): ids[0] good; ids[1] violates add_to_cart with
 * a quantity as text (base64 ue_px), ids[2] with an extra property (string-escaped ue_pr), and
 * ids[3] names a schema that does not exist (no flow of RECOVERY_CONFIG matches it). Their bad
 * rows are keyed `event:<id>:schema`.
 */
export function sendRecoverableEvents(base: string, ids: string[], user: string): Promise<Response> {
  return fetch(`${base}/com.snowplowanalytics.snowplow/tp2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
      data: [
        { e: 'pv', eid: ids[0], p: 'web', tv: 't', uid: user, aid: 'shop', url: 'https://example.com/' },
        { e: 'ue', eid: ids[1], p: 'web', tv: 't', uid: user, aid: 'shop', ue_px: Buffer.from(JSON.stringify(ue(ADD_TO_CART, { sku: 'sku-1', quantity: '2' }))).toString('base64url') },
        { e: 'ue', eid: ids[2], p: 'web', tv: 't', uid: user, aid: 'shop', ue_pr: JSON.stringify(ue(ADD_TO_CART, { sku: 'sku-2', quantity: 1, colour: 'red' })) },
        { e: 'ue', eid: ids[3], p: 'web', tv: 't', uid: user, aid: 'shop', ue_pr: JSON.stringify(ue('iglu:com.acme/unknown_event/jsonschema/1-0-0', {})) },
      ],
    }),
  });
}
