import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSchemaDir, SCHEMAS_DIR } from '../../src/schemas/dir';
import {
  checkSelfDescribingSchema,
  compareKeys,
  InvalidSchemaError,
  parseSchemaKey,
  parseSchemaPath,
  parseSchemaUri,
  parseSchemaVer,
  schemaPath,
  schemaUri,
  SELF_DESC_METASCHEMA,
} from '../../src/schemas/iglu';

const selfDescribing = (self: Record<string, unknown>, body: Record<string, unknown> = { type: 'object' }): Record<string, unknown> => ({
  $schema: SELF_DESC_METASCHEMA,
  self,
  ...body,
});
const ACME = { vendor: 'com.acme', name: 'order_placed', format: 'jsonschema', version: '1-0-2' };

function invalid(fn: () => unknown): InvalidSchemaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidSchemaError) return err;
    throw err;
  }
  throw new Error('expected InvalidSchemaError');
}

describe('Iglu keys', () => {
  it('parses and formats URIs and paths, both ways', () => {
    expect(parseSchemaUri('iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0')).toEqual({
      vendor: 'com.snowplowanalytics.snowplow',
      name: 'add_to_cart',
      format: 'jsonschema',
      version: '1-0-0',
    });
    expect(parseSchemaPath('com.acme-co/order_placed/jsonschema/12-3-45')).toEqual({ vendor: 'com.acme-co', name: 'order_placed', format: 'jsonschema', version: '12-3-45' });
    expect(schemaUri(ACME)).toBe('iglu:com.acme/order_placed/jsonschema/1-0-2');
    expect(schemaPath(ACME)).toBe('com.acme/order_placed/jsonschema/1-0-2');
    expect(parseSchemaKey(schemaUri(ACME))).toEqual(ACME);
    expect(parseSchemaKey(schemaPath(ACME))).toEqual(ACME);
    expect(parseSchemaVer('2-10-0')).toEqual({ model: 2, revision: 10, addition: 0 });
  });

  it.each([
    'com.acme/order/jsonschema/1-0-0', // a path is not a URI
    'iglu:com.acme/order/jsonschema/1-0',
    'iglu:com.acme/order/jsonschema/0-1-0', // MODEL starts at 1
    'iglu:com.acme/order/jsonschema/01-0-0',
    'iglu:com.acme/order/jsonschema/1-0-0-0',
    'iglu:com.acme/order.v2/jsonschema/1-0-0', // no dots in names
    'iglu:com acme/order/jsonschema/1-0-0',
    'iglu:com.acme/order/jsonschema/1-0-0/extra',
    'iglu:/order/jsonschema/1-0-0',
    'iglu:com.acme/order/jsonschema/1-?-?',
  ])('refuses %s as an Iglu URI', (uri) => {
    expect(parseSchemaUri(uri)).toBeUndefined();
  });

  it('orders versions numerically', () => {
    const keys = ['1-0-10', '2-0-0', '1-0-9', '1-1-0'].map((version) => ({ ...ACME, version }));
    expect(keys.sort(compareKeys).map((k) => k.version)).toEqual(['1-0-9', '1-0-10', '1-1-0', '2-0-0']);
  });
});

describe('self-describing schemas', () => {
  it('accepts one and gives the body to compile without $schema and self', () => {
    const checked = checkSelfDescribingSchema(selfDescribing(ACME, { type: 'object', description: 'an order' }), ACME);
    expect(checked.key).toEqual(ACME);
    expect(checked.body).toEqual({ type: 'object', description: 'an order' });
  });

  it.each([
    ['not an object', [], 'schema'],
    ['no $schema', { self: ACME, type: 'object' }, '$schema'],
    ['another $schema', { ...selfDescribing(ACME), $schema: 'http://json-schema.org/draft-04/schema#' }, '$schema'],
    ['no self', { $schema: SELF_DESC_METASCHEMA, type: 'object' }, 'self'],
    ['self without a version', selfDescribing({ ...ACME, version: undefined }), 'self.version'],
    ['a bad SchemaVer', selfDescribing({ ...ACME, version: '1.0.0' }), 'self.version'],
    ['a bad vendor', selfDescribing({ ...ACME, vendor: 'com/acme' }), 'self.vendor'],
    ['a bad name', selfDescribing({ ...ACME, name: 'order placed' }), 'self.name'],
    ['another format', selfDescribing({ ...ACME, format: 'avro' }), 'self.format'],
    ['an extra self field', selfDescribing({ ...ACME, owner: 'me' }), 'self.owner'],
  ])('refuses %s, naming the field', (_what, schema, field) => {
    const err = invalid(() => checkSelfDescribingSchema(schema));
    expect(err.field).toBe(field);
    expect(err.message).toContain(field.split('.')[0]);
  });

  it('refuses a self that does not match where the schema is filed', () => {
    const err = invalid(() => checkSelfDescribingSchema(selfDescribing(ACME), { ...ACME, version: '1-0-3' }));
    expect(err.field).toBe('self');
    expect(err.message).toMatch(/iglu:com\.acme\/order_placed\/jsonschema\/1-0-2 .* iglu:com\.acme\/order_placed\/jsonschema\/1-0-3/);
  });
});

describe('Iglu folders', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-schemas-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const write = (rel: string, content: unknown): void => {
    fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    fs.writeFileSync(path.join(tmp, rel), typeof content === 'string' ? content : JSON.stringify(content));
  };

  it('reads vendor/name/format/version files and skips everything else', async () => {
    write('com.acme/order_placed/jsonschema/1-0-2', selfDescribing(ACME));
    write('README.md', '# schemas');
    write('com.acme/order_placed/jsonschema/notes.txt', 'not a schema');
    const found = await readSchemaDir(tmp);
    expect(found.map((f) => f.key)).toEqual([ACME]);
  });

  it('names the file of a schema filed under another key, or not JSON', async () => {
    write('com.acme/order_placed/jsonschema/1-0-3', selfDescribing(ACME));
    await expect(readSchemaDir(tmp)).rejects.toThrow(/order_placed\/jsonschema\/1-0-3.*self names iglu:com\.acme\/order_placed\/jsonschema\/1-0-2/);
    fs.rmSync(path.join(tmp, 'com.acme'), { recursive: true });
    write('com.acme/order_placed/jsonschema/1-0-2', '{"$schema": ');
    await expect(readSchemaDir(tmp)).rejects.toThrow(/1-0-2: not JSON/);
  });

  it('ships the Snowplow schemas the collector and trackers use', async () => {
    const keys = (await readSchemaDir(SCHEMAS_DIR)).map((s) => schemaUri(s.key));
    expect(keys).toEqual(
      expect.arrayContaining([
        'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
        'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1',
        'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow/remove_from_cart/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1',
        'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2',
        'iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2',
        'iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow.ecommerce/cart/jsonschema/1-0-0',
        'iglu:com.snowplowanalytics.snowplow.ecommerce/transaction/jsonschema/1-0-0',
      ]),
    );
  });
});
