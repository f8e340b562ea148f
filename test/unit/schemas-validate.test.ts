import { readSchemaDir, SCHEMAS_DIR } from '../../src/schemas/dir';
import { InvalidSchemaError, schemaUri } from '../../src/schemas/iglu';
import { badRowMessage } from '../../src/schemas/registry';
import { compileIgluSchema, createIgluAjv, jsonPath, jsonType, type DataValidator } from '../../src/schemas/validate';

const ajv = createIgluAjv();
const shipped = new Map<string, DataValidator>();

beforeAll(async () => {
  for (const s of await readSchemaDir(SCHEMAS_DIR)) shipped.set(schemaUri(s.key), compileIgluSchema(ajv, s.body));
});

const SP = 'iglu:com.snowplowanalytics.snowplow';
function validator(key: string): DataValidator {
  const v = shipped.get(key);
  if (!v) throw new Error(`${key} is not shipped`);
  return v;
}

function compileError(body: Record<string, unknown>): InvalidSchemaError {
  try {
    compileIgluSchema(ajv, body);
  } catch (err) {
    if (err instanceof InvalidSchemaError) return err;
    throw err;
  }
  throw new Error('expected the schema to be refused');
}

describe('JSON paths', () => {
  it('turns JSON pointers into paths, array indexes told by the data', () => {
    const data = { items: [{ sku: 'a' }], '0': { x: 1 }, 'a/b': { 'c~d': 1 }, 'with space': 1 };
    expect(jsonPath('', data)).toBe('$');
    expect(jsonPath('/items/0/sku', data)).toBe('$.items[0].sku');
    expect(jsonPath('/0/x', data)).toBe('$["0"].x');
    expect(jsonPath('/a~1b/c~0d', data)).toBe('$["a/b"]["c~d"]');
    expect(jsonPath('/with space', data)).toBe('$["with space"]');
    expect(jsonPath('/3', [1, 2, 3, 4])).toBe('$[3]');
  });

  it('names JSON types as the reports do', () => {
    expect([null, [], 1, 1.5, 'a', true, {}].map(jsonType)).toEqual(['null', 'array', 'integer', 'number', 'string', 'boolean', 'object']);
  });
});

describe('the shipped schemas', () => {
  it('all compile', () => {
    expect(shipped.size).toBeGreaterThanOrEqual(13);
  });

  it('add_to_cart: takes a tracker\'s event, rejects one without sku naming sku', () => {
    const v = validator(`${SP}/add_to_cart/jsonschema/1-0-0`);
    expect(v({ sku: '000345', name: 'blue tie', category: 'clothing', unitPrice: 3.49, quantity: 2, currency: 'GBP' })).toEqual([]);
    expect(v({ quantity: 2 })).toEqual([{ message: '$.sku: is missing but it is required', path: '$', keyword: 'required', targets: ['sku'] }]);
  });

  it('add_to_cart and remove_from_cart: every problem at once, Snowplow\'s wording', () => {
    for (const name of ['add_to_cart', 'remove_from_cart']) {
      const reports = validator(`${SP}/${name}/jsonschema/1-0-0`)({ quantity: '2', price: 3 });
      expect(reports).toEqual(
        expect.arrayContaining([
          { message: '$.sku: is missing but it is required', path: '$', keyword: 'required', targets: ['sku'] },
          { message: '$.price: is not defined in the schema and the schema does not allow additional properties', path: '$', keyword: 'additionalProperties', targets: ['price'] },
          { message: '$.quantity: string found, number expected', path: '$.quantity', keyword: 'type', targets: ['string', 'number'] },
        ]),
      );
      expect(reports).toHaveLength(3);
    }
  });

  it('link_click 1-0-1: targetUrl required and not empty', () => {
    const v = validator(`${SP}/link_click/jsonschema/1-0-1`);
    expect(v({ targetUrl: 'https://example.com/', elementId: 'cta', elementClasses: ['btn', 'primary'], elementTarget: '_blank', elementContent: 'Buy' })).toEqual([]);
    expect(v({ targetUrl: '' })).toEqual([{ message: '$.targetUrl: must be at least 1 characters long', path: '$.targetUrl', keyword: 'minLength', targets: ['1'] }]);
    expect(v({ targetUrl: 'x', elementClasses: ['a', 2] })).toEqual([{ message: '$.elementClasses[1]: integer found, string expected', path: '$.elementClasses[1]', keyword: 'type', targets: ['integer', 'string'] }]);
  });

  it('payload_data 1-0-4: a tp2 body\'s data, every field a string, tv/p/e required, not empty', () => {
    const v = validator(`${SP}/payload_data/jsonschema/1-0-4`);
    expect(v([{ e: 'pv', eid: 'a0c4fd1e-0000-4000-8000-000000000001', p: 'web', tv: 'js-3.0.0', url: 'https://example.com/', stm: '1700000000000' }])).toEqual([]);
    expect(v([])).toEqual([{ message: '$: there must be a minimum of 1 items in the array', path: '$', keyword: 'minItems', targets: ['1'] }]);
    const reports = v([{ e: 'pv', p: 'web', tv: 't' }, { e: 'pv', p: 'web', dtm: 1700000000000 }]);
    expect(reports).toEqual([
      { message: '$[1].tv: is missing but it is required', path: '$[1]', keyword: 'required', targets: ['tv'] },
      { message: '$[1].dtm: integer found, string expected', path: '$[1].dtm', keyword: 'type', targets: ['integer', 'string'] },
    ]);
  });

  it('unstruct_event and contexts: Iglu URIs; contexts 1-0-0 not empty, 1-0-1 may be', () => {
    const ue = validator(`${SP}/unstruct_event/jsonschema/1-0-0`);
    expect(ue({ schema: `${SP}/link_click/jsonschema/1-0-1`, data: { targetUrl: 'x' } })).toEqual([]);
    const bad = ue({ schema: 'com.acme/x/jsonschema/1-0-0', data: {} });
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ path: '$.schema', keyword: 'pattern' });
    expect(bad[0].message).toMatch(/^\$\.schema: does not match the regex pattern \^iglu:/);
    expect(ue({ schema: `${SP}/link_click/jsonschema/1-0-1` })[0]).toMatchObject({ message: '$.data: is missing but it is required', targets: ['data'] });

    const ctx = { schema: `${SP}/web_page/jsonschema/1-0-0`, data: { id: '0a1b2c3d-0000-4000-8000-00000000beef' } };
    expect(validator(`${SP}/contexts/jsonschema/1-0-0`)([ctx])).toEqual([]);
    expect(validator(`${SP}/contexts/jsonschema/1-0-0`)([])).toEqual([{ message: '$: there must be a minimum of 1 items in the array', path: '$', keyword: 'minItems', targets: ['1'] }]);
    expect(validator(`${SP}/contexts/jsonschema/1-0-1`)([])).toEqual([]);
    expect(validator(`${SP}/contexts/jsonschema/1-0-1`)([{ ...ctx, extra: 1 }])[0]).toMatchObject({ keyword: 'additionalProperties', path: '$[0]', targets: ['extra'] });
  });

  it('web_page: the page view id is a UUID', () => {
    const v = validator(`${SP}/web_page/jsonschema/1-0-0`);
    expect(v({ id: '0A1B2C3D-0000-4000-8000-00000000BEEF' })).toEqual([]);
    expect(v({ id: 'page-1' })[0]).toMatchObject({ path: '$.id', keyword: 'pattern' });
  });

  it('client_session 1-0-2: the browser tracker\'s session context; nulls, enums, formats', () => {
    const v = validator(`${SP}/client_session/jsonschema/1-0-2`);
    const session = {
      userId: '4d6a5b2e-9b7c-4c5e-8a1f-0b1c2d3e4f50',
      sessionId: '9f0e8d7c-6b5a-4a3b-9c2d-1e0f9a8b7c6d',
      sessionIndex: 3,
      eventIndex: 7,
      previousSessionId: null,
      storageMechanism: 'COOKIE_1',
      firstEventId: '0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b',
      firstEventTimestamp: '2024-05-06T07:08:09.123Z',
    };
    expect(v(session)).toEqual([]);
    expect(v({ ...session, eventIndex: null, firstEventId: null, firstEventTimestamp: null })).toEqual([]);
    const reports = v({ ...session, sessionId: 'nope', sessionIndex: -1, eventIndex: 'x', storageMechanism: 'DISK', firstEventTimestamp: 'yesterday' });
    expect(reports).toEqual(
      expect.arrayContaining([
        { message: '$.sessionId: nope is an invalid uuid', path: '$.sessionId', keyword: 'format', targets: ['uuid'] },
        { message: '$.sessionIndex: must have a minimum value of 0', path: '$.sessionIndex', keyword: 'minimum', targets: ['0'] },
        { message: '$.eventIndex: string found, [null, integer] expected', path: '$.eventIndex', keyword: 'type', targets: ['string', '[null, integer]'] },
        {
          message: '$.storageMechanism: does not have a value in the enumeration [SQLITE, COOKIE_1, COOKIE_3, LOCAL_STORAGE, FLASH_LSO]',
          path: '$.storageMechanism',
          keyword: 'enum',
          targets: ['[SQLITE, COOKIE_1, COOKIE_3, LOCAL_STORAGE, FLASH_LSO]'],
        },
        { message: '$.firstEventTimestamp: yesterday is an invalid date-time', path: '$.firstEventTimestamp', keyword: 'format', targets: ['date-time'] },
      ]),
    );
    expect(reports).toHaveLength(5);
  });

  it('ecommerce: the snowplow-ecommerce plugin\'s action and entities; prices in cents are multiples of 0.01', () => {
    const EC = 'iglu:com.snowplowanalytics.snowplow.ecommerce';
    expect(validator(`${EC}/snowplow_ecommerce_action/jsonschema/1-0-2`)({ type: 'add_to_cart' })).toEqual([]);
    expect(validator(`${EC}/snowplow_ecommerce_action/jsonschema/1-0-2`)({ type: 'wishlist' })[0]).toMatchObject({ keyword: 'enum', path: '$.type' });
    const product = validator(`${EC}/product/jsonschema/1-0-0`);
    expect(product({ id: 'sku-1', category: 'Shoes/Sneakers', price: 19.99, list_price: 1234567.89, currency: 'EUR', quantity: 1, name: null })).toEqual([]);
    expect(product({ id: 'sku-1', category: 'Shoes', price: 19.991, currency: 'EURO' })).toEqual([
      { message: '$.price: must be multiple of 0.01', path: '$.price', keyword: 'multipleOf', targets: ['0.01'] },
      { message: '$.currency: may only be 3 characters long', path: '$.currency', keyword: 'maxLength', targets: ['3'] },
    ]);
    expect(validator(`${EC}/cart/jsonschema/1-0-0`)({ cart_id: null, total_value: 0.3, currency: 'GBP' })).toEqual([]);
    const tx = { transaction_id: 't-1', revenue: 59.97, currency: 'USD', payment_method: 'card', total_quantity: 3, tax: 4.1, shipping: null, credit_order: false };
    expect(validator(`${EC}/transaction/jsonschema/1-0-0`)(tx)).toEqual([]);
  });
});

describe('compiling schemas', () => {
  it('is draft-04: a boolean exclusiveMaximum, `id`, and Java-style patterns', () => {
    const v = compileIgluSchema(ajv, {
      id: 'http://example.com/price#',
      type: 'object',
      properties: { price: { type: 'number', maximum: 5, exclusiveMaximum: true }, code: { type: 'string', pattern: '^[\\w-.]+$' } },
    });
    expect(v({ price: 4.99, code: 'a-b.c_d' })).toEqual([]);
    expect(v({ price: 5 })).toEqual([{ message: '$.price: must have an exclusive maximum value of 5', path: '$.price', keyword: 'maximum', targets: ['5'] }]);
    expect(v({ code: 'a b' })[0]).toMatchObject({ keyword: 'pattern', path: '$.code' });
    // ids do not stay in the instance: the same id again compiles.
    expect(() => compileIgluSchema(ajv, { id: 'http://example.com/price#', type: 'string' })).not.toThrow();
  });

  it('reports a failed anyOf once, not each branch', () => {
    const v = compileIgluSchema(ajv, { properties: { v: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 3 }] } } });
    expect(v({ v: 'x' })).toEqual([]);
    expect(v({ v: 1 })).toEqual([{ message: '$.v: should be valid to any of the schemas [{"type":"string"},{"type":"integer","minimum":3}]', path: '$.v', keyword: 'anyOf', targets: [] }]);
  });

  it('words the other keywords too', () => {
    const v = compileIgluSchema(ajv, {
      type: 'object',
      properties: {
        s: { type: 'string', maxLength: 2 },
        n: { type: 'number', multipleOf: 5 },
        a: { type: 'array', maxItems: 1, uniqueItems: true },
        e: { type: 'string', format: 'email' },
        o: { type: 'object', minProperties: 1 },
      },
      dependencies: { card: ['expiry'] },
    });
    const reports = v({ s: 'abc', n: 7, a: [1, 1], e: 'nope', o: {}, card: '4111' });
    expect(reports.map((r) => r.message)).toEqual(
      expect.arrayContaining([
        '$.s: may only be 2 characters long',
        '$.n: must be multiple of 5',
        '$.a: there must be a maximum of 1 items in the array',
        '$.a: the items in the array must be unique (items 0 and 1 are equal)',
        '$.e: does not match the email pattern',
        '$.o: should have a minimum of 1 properties',
        '$: has an error with dependencies: $.expiry is required when card is present',
      ]),
    );
  });

  it('refuses a schema that is not draft-04 JSON Schema, naming where', () => {
    const err = compileError({ type: 'object', properties: { sku: { type: 'strnig' } } });
    expect(err.field).toBe('schema.properties.sku.type');
    expect(err.message).toMatch(/^not a valid JSON Schema \(draft-04\): \$\.properties\.sku\.type: must be one of \[array, boolean, integer, null, number, object, string\]/);
    expect(err.issues).toEqual([{ path: '$.properties.sku.type', message: expect.stringContaining('$.properties.sku.type') }]);
    expect(compileError({ required: [] }).field).toBe('schema.required');
  });

  it('refuses a schema that does not compile: a broken pattern, an unresolvable $ref', () => {
    expect(compileError({ type: 'string', pattern: '([' }).message).toMatch(/does not compile: Invalid regular expression/);
    expect(compileError({ $ref: 'http://example.com/elsewhere#' }).message).toMatch(/does not compile: can't resolve reference/);
  });
});

describe('bad-row messages', () => {
  it('puts a violation in the shape of schema_violations 2-0-0 failure messages', () => {
    const dataReports = [{ message: '$.sku: is missing but it is required', path: '$', keyword: 'required', targets: ['sku'] }];
    expect(badRowMessage({ schemaKey: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', field: 'unstruct_event', error: 'ValidationError', dataReports })).toEqual({
      schemaKey: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0',
      error: { error: 'ValidationError', dataReports },
    });
    const lookupHistory = [{ repository: 'beltline schema registry', errors: [{ error: 'NotFound' as const }], attempts: 1, lastAttempt: '2024-01-01T00:00:00.000Z' }];
    expect(badRowMessage({ schemaKey: 'iglu:com.acme/x/jsonschema/1-0-0', field: 'contexts', error: 'ResolutionError', lookupHistory })).toEqual({
      schemaKey: 'iglu:com.acme/x/jsonschema/1-0-0',
      error: { error: 'ResolutionError', lookupHistory },
    });
  });
});
