import { enrich, EnrichmentError, iglu, sdkFieldName, userAgentFields } from '../../src/snowplow/enrich';
import { parseGetQuery, parseTp2Body, Tp2FormatError } from '../../src/snowplow/tp2';

const meta = { collectorTstamp: Date.parse('2024-03-01T12:00:10.000Z'), collector: 'beltline-test', ipAddress: '203.0.113.9' };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('tracker protocol and enrichment', () => {
  it('derives the timestamp from the collector time corrected by device clock skew', () => {
    const e = enrich({ e: 'pv', eid: 'e1', dtm: '1000000', stm: '1000500', p: 'web' }, meta);
    expect(e.derived_tstamp).toBe('2024-03-01T12:00:09.500Z');
    const t = enrich({ e: 'pv', eid: 'e1', dtm: '1000000', stm: '1000500', ttm: String(Date.parse('2020-01-01T00:00:00Z')) }, meta);
    expect(t.derived_tstamp).toBe('2020-01-01T00:00:00.000Z');
    expect(enrich({ e: 'pv', eid: 'e1' }, meta).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
  });

  it('unpacks self-describing events and contexts into SDK fields, base64 or plain', () => {
    const ue = { schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.acme/addToBasket/jsonschema/2-1-0', data: { sku: 'x' } } };
    const co = {
      schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1',
      data: [
        { schema: 'iglu:com.acme-corp/user/jsonschema/1-0-0', data: { n: 1 } },
        { schema: 'iglu:com.acme-corp/user/jsonschema/1-0-0', data: { n: 2 } },
      ],
    };
    const e = enrich({ e: 'ue', eid: 'e2', ue_px: b64(ue), cx: b64(co) }, meta);
    expect(e).toMatchObject({
      event: 'unstruct',
      event_vendor: 'com.acme',
      event_name: 'addToBasket',
      event_version: '2-1-0',
      unstruct_event_com_acme_add_to_basket_2: { sku: 'x' },
      contexts_com_acme_corp_user_1: [{ n: 1 }, { n: 2 }],
    });
    expect(enrich({ e: 'ue', eid: 'e3', ue_pr: JSON.stringify(ue) }, meta).unstruct_event_com_acme_add_to_basket_2).toEqual({ sku: 'x' });
  });

  it('names the field of an event it cannot read', () => {
    const err = (p: Record<string, string>) => {
      try {
        enrich(p, meta);
      } catch (e) {
        return e instanceof EnrichmentError ? e.field : 'other';
      }
      return 'none';
    };
    expect(err({ e: 'zz', eid: 'x' })).toBe('e');
    expect(err({ e: 'pv' })).toBe('eid');
    expect(err({ e: 'ue', eid: 'x', ue_px: '%%%' })).toBe('ue_px');
    expect(err({ e: 'ue', eid: 'x' })).toBe('ue_pr');
    expect(err({ e: 'pv', eid: 'x', co: '{"data": 1}' })).toBe('co');
    expect(err({ e: 'pv', eid: 'x', dtm: 'yesterday' })).toBe('dtm');
  });

  it('parses the user agent and screen fields', () => {
    const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36';
    expect(userAgentFields(ua)).toMatchObject({ br_family: 'Chrome', br_version: '67.0.3396.99', os_family: 'Windows', dvce_type: 'Computer', dvce_ismobile: false });
    const e = enrich({ e: 'pv', eid: 'x', res: '1920x1080', vp: '800x600', ua }, meta);
    expect(e).toMatchObject({ dvce_screenwidth: 1920, dvce_screenheight: 1080, br_viewwidth: 800, br_name: 'Chrome 67', user_ipaddress: '203.0.113.9' });
  });

  it('follows Snowplow\'s field naming and Iglu URIs', () => {
    expect(sdkFieldName('contexts', 'com.snowplowanalytics.snowplow', 'web_page', 1)).toBe('contexts_com_snowplowanalytics_snowplow_web_page_1');
    expect(sdkFieldName('unstruct_event', 'com.acme-corp', 'linkClick', 3)).toBe('unstruct_event_com_acme_corp_link_click_3');
    expect(iglu('iglu:com.acme/x/jsonschema/10-2-3')).toEqual({ vendor: 'com.acme', name: 'x', format: 'jsonschema', version: '10-2-3', model: 10 });
    expect(() => iglu('com.acme/x/jsonschema/1-0-0')).toThrow(EnrichmentError);
  });

  it('parses GET /i query strings and refuses malformed tp2 bodies with a reason', () => {
    expect(parseGetQuery({ e: 'pv', eid: ['a', 'b'] })).toEqual({ e: 'pv', eid: 'a' });
    expect(() => parseGetQuery({ eid: 'a' })).toThrow(Tp2FormatError);
    expect(parseTp2Body({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [{ e: 'pv', vid: 3 }] })).toEqual([{ e: 'pv', vid: '3' }]);
    expect(() => parseTp2Body([])).toThrow(/JSON object/);
    expect(() => parseTp2Body({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [{ e: 'pv', x: { a: 1 } }] })).toThrow(/data\[0\]\.x must be a string/);
  });
});
