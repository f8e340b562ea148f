import { flowsFor, parseRecoveryConfig, parseRecoveryConfigText, RecoveryConfigError } from '../../src/recovery/config';
import { SEED_CONDITIONS, SEED_STEPS } from '../support/recovery-seed';

function refusal(config: unknown): string {
  try {
    parseRecoveryConfig(config);
  } catch (err) {
    expect(err).toBeInstanceOf(RecoveryConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

const flow = (name: string, steps: unknown[], conditions: unknown[] = []) => ({ schema_violations: [{ name, conditions, steps }] });

describe('recovery configuration', () => {
  it('accepts the seed\'s steps and conditions, keyed by type or by Iglu URI, with or without the recoveries envelope', () => {
    const config = parseRecoveryConfig({
      schema: 'iglu:com.snowplowanalytics.snowplow/recoveries/jsonschema/4-0-0',
      data: {
        'iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-*': [
          { name: 'main flow', conditions: Object.values(SEED_CONDITIONS), steps: Object.values(SEED_STEPS) },
        ],
        tracker_protocol_violations: [{ name: 'other', conditions: [], steps: [] }],
      },
    });
    expect(config.flowSets.map((s) => [s.type, s.version])).toEqual([
      ['schema_violations', '2-0-*'],
      ['tracker_protocol_violations', undefined],
    ]);
    expect(config.flowSets[0].flows[0].steps).toHaveLength(3);
    expect(flowsFor(config, 'schema_violations', 'iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-0').map((f) => f.name)).toEqual(['main flow']);
    expect(flowsFor(config, 'schema_violations', 'iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/1-0-0')).toEqual([]);
    expect(flowsFor(config, 'size_violation', 'iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0')).toEqual([]);
  });

  it('refuses a malformed step with a message naming the flow and the step', () => {
    expect(refusal(flow('fix-price', [SEED_STEPS.replace, { op: 'Cast', path: '$.raw.parameters.tr_tt', from: 'String', to: 'Integer' }]))).toBe(
      'flow "fix-price" step 2 (Cast): "to" must be one of Numeric, Boolean, String, Array',
    );
    expect(refusal(flow('fix-price', [{ op: 'Cast', path: '$.a', to: 'String' }]))).toBe('flow "fix-price" step 1 (Cast): "from" is required');
    expect(refusal(flow('f', [SEED_STEPS.remove, SEED_STEPS.remove, { op: 'Replace', path: '$.raw.parameters.aid', value: 'x' }]))).toBe('flow "f" step 3 (Replace): "match" is required');
    expect(refusal(flow('f', [{ op: 'Replace', path: '$.a', match: 'x' }]))).toBe('flow "f" step 1 (Replace): "value" is required');
    expect(refusal(flow('f', [{ op: 'Remove', path: '$.a', match: '(' }]))).toMatch(/^flow "f" step 1 \(Remove\): "match" is not a valid regular expression/);
    expect(refusal(flow('f', [{ op: 'Remove', path: 'raw.parameters.aid', match: 'x' }]))).toMatch(/^flow "f" step 1 \(Remove\): "path" a JSON path starts with \$/);
    expect(refusal(flow('f', [{ op: 'Remove', path: '$.raw[?(@.x=~([0-9)]', match: 'x' }]))).toMatch(/^flow "f" step 1 \(Remove\): "path" /);
    expect(refusal(flow('f', [{ op: 'Delete', path: '$.a' }]))).toBe('flow "f" step 1: "op" must be one of Replace, Remove, Cast (found "Delete")');
    expect(refusal(flow('f', [{ op: 'Remove', path: '$.a', match: 'x', value: 'y' }]))).toBe('flow "f" step 1 (Remove): unknown field "value"');
    expect(refusal(flow('f', [{ op: 'Cast', path: '$.a', from: 'String', to: 'String' }]))).toBe('flow "f" step 1 (Cast): "from" and "to" are both String');
    expect(refusal(flow('f', [{ op: 'Replace', path: '$.a', match: '(?x)a', value: 'b' }]))).toMatch(/^flow "f" step 1 \(Replace\): "match" .*\(\?x\)/);
  });

  it('refuses malformed conditions, flows and keys, naming them', () => {
    expect(refusal(flow('f', [], [SEED_CONDITIONS.value, { op: 'Test', path: '$.a', value: { regex: 'x', value: 'y' } }]))).toBe(
      'flow "f" condition 2: "value" must have exactly one of "value", "regex" or "size" (found "regex", "value")',
    );
    expect(refusal(flow('f', [], [{ op: 'Test', path: '$.a', value: { size: { ge: 3 } } }]))).toBe('flow "f" condition 1: "value.size" unknown field "ge"');
    expect(refusal(flow('f', [], [{ op: 'Test', path: '$.a', value: { size: {} } }]))).toBe('flow "f" condition 1: "value.size" needs one of "eq", "gt" or "lt"');
    expect(refusal(flow('f', [], [{ op: 'Test', path: '$.a', value: { size: { eq: '3' } } }]))).toBe('flow "f" condition 1: "value.size" "eq" must be a number');
    expect(refusal(flow('f', [], [{ op: 'Replace', path: '$.a', value: { value: 1 } }]))).toBe('flow "f" condition 1: "op" must be "Test"');
    expect(refusal(flow('f', [], [{ op: 'Test', path: '$.a', value: { regex: '[' } }]))).toMatch(/^flow "f" condition 1: "value.regex" is not a valid regular expression/);
    expect(refusal({ schema_violations: [{ name: 'a', steps: [] }, { name: 'a', steps: [] }] })).toBe('flow "a": the name is used by another flow');
    expect(refusal({ schema_violations: [{ name: 'a' }] })).toBe('flow "a": "steps" must be an array');
    expect(refusal({ schema_violations: [{ steps: [] }] })).toBe('schema_violations flow 1: "name" must be a string');
    expect(refusal({ schema_violation: [] })).toMatch(/^"schema_violation" is not a bad-row type: use one of/);
    expect(refusal({})).toBe('the configuration has no flows');
    expect(() => parseRecoveryConfigText('{"schema_violations": [')).toThrow(/^not JSON/);
  });
});
