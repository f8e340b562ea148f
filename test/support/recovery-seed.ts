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
