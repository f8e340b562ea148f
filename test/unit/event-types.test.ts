import { evaluateId, evaluateTimestamp, parseEventTypeBody, parseExpression, seededUuid, technicalName } from '../../src/eventtypes/definition';
import { durationField as durationMs } from '../../src/shared/durations';
import { DefinitionError } from '../../src/shared/errors';

// Seed 001's exact bodies.
const SEED_DATA_IN = {
  displayName: 'livesegment-datain',
  description: 'Live Segment DataIn Event Type',
  type: 'data_in',
  eventIdExpression: '#randomUUID()',
  timestampExpression: '#nowMillis()',
  correlationIdExpression: '#randomUUID()',
  eventstoreTTL: 'P100Y',
};
const SEED_LIVE_SEGMENT = {
  displayName: 'livesegment-dataoutput',
  type: 'live_segment',
  schema: {
    schema:
      '{\r\n    "type": "object",\r\n    "title": "The root schema",\r\n    "description": "This is a sample json for testing the live segment.",\r\n    "required": [\r\n        "id",\r\n        "firstName",\r\n        "lastName"\r\n    ],\r\n    "properties": {\r\n        "id": {\r\n            "type": "integer"\r\n        },\r\n        "firstName": {\r\n            "type": "string",\r\n            "default": "325"\r\n        },\r\n        "lastName": {\r\n            "type": "string",\r\n            "default": "325"\r\n        }\r\n    },\r\n    "additionalProperties": true\r\n}',
  },
};

describe('event type definitions', () => {
  it('accepts seed 001\'s bodies and derives the technical names the seed shows', () => {
    expect(parseEventTypeBody(SEED_DATA_IN).name).toBe('livesegment-datain');
    const seg = parseEventTypeBody(SEED_LIVE_SEGMENT);
    expect(seg.name).toBe('livesegment-dataoutp');
    expect(seg.schema).toMatchObject({ type: 'object', properties: { firstName: { type: 'string' } } });
    expect(technicalName('My Fancy Event Type!')).toBe('my-fancy-event-type');
  });

  it.each([
    [{ ...SEED_DATA_IN, type: 'stream' }, 'type'],
    [{ ...SEED_DATA_IN, displayName: '' }, 'displayName'],
    [{ ...SEED_DATA_IN, eventIdExpression: 'uuid()' }, 'eventIdExpression'],
    [{ ...SEED_DATA_IN, correlationIdExpression: '$[' }, 'correlationIdExpression'],
    [{ ...SEED_DATA_IN, timestampExpression: '#randomUUID()' }, 'timestampExpression'],
    [{ ...SEED_DATA_IN, eventstoreTTL: '30 days' }, 'eventstoreTTL'],
    [{ ...SEED_DATA_IN, name: 'Bad Name; DROP TABLE x' }, 'name'],
    [{ ...SEED_LIVE_SEGMENT, schema: '{"properties": {"name": {}}}' }, 'schema'],
    [{ ...SEED_LIVE_SEGMENT, schema: '{not json' }, 'schema'],
    [{ ...SEED_DATA_IN, schema: { properties: { id: {} } } }, 'schema'],
  ])('refuses %j naming the field %s', (body, field) => {
    expect(() => parseEventTypeBody(body)).toThrow(DefinitionError);
    try {
      parseEventTypeBody(body);
    } catch (err) {
      expect((err as DefinitionError).field).toBe(field);
    }
  });

  it('evaluates expressions reproducibly: the same record gives the same ids', () => {
    const ctx = { seed: 'raw:0:42:1', receivedAt: 1_700_000_000_000 };
    const random = parseExpression('#randomUUID()', 'eventIdExpression');
    expect(evaluateId(random, {}, ctx, 'eventIdExpression')).toBe(evaluateId(random, {}, ctx, 'eventIdExpression'));
    expect(evaluateId(random, {}, ctx, 'eventIdExpression')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(evaluateId(random, {}, { ...ctx, seed: 'raw:0:43:1' }, 'eventIdExpression')).not.toBe(evaluateId(random, {}, ctx, 'eventIdExpression'));
    expect(evaluateId(random, {}, ctx, 'correlationIdExpression')).not.toBe(evaluateId(random, {}, ctx, 'eventIdExpression'));
    expect(evaluateId(parseExpression('$.user.id', 'x'), { user: { id: 'u7' } }, ctx, 'x')).toBe('u7');
    expect(evaluateTimestamp(parseExpression('#nowMillis()', 't'), {}, ctx, 't')).toBe(ctx.receivedAt);
    expect(evaluateTimestamp(parseExpression('$.at', 't'), { at: '2024-01-02T03:04:05Z' }, ctx, 't')).toBe(Date.parse('2024-01-02T03:04:05Z'));
    expect(() => evaluateId(parseExpression('$.missing', 'correlationIdExpression'), {}, ctx, 'correlationIdExpression')).toThrow(/correlationIdExpression/);
    expect(seededUuid('a')).toBe(seededUuid('a'));
  });

  it('reads ISO-8601 durations', () => {
    expect(durationMs('PT3S', 'x')).toBe(3000);
    expect(durationMs('P1D', 'x')).toBe(86_400_000);
    expect(durationMs('P3M', 'x')).toBe(90 * 86_400_000);
    expect(() => durationMs('3 days', 'eventstoreTTL')).toThrow(/eventstoreTTL/);
  });
});
