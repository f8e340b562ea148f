import fs from 'node:fs';
import path from 'node:path';
import { PythonBeltPool } from '../../src/belts/python';
import { BeltSandbox, type BeltInput } from '../../src/belts/sandbox';

/** The cart-offers example's belt (seed 004), on the inputs the pipeline gives it. */
const SOURCE = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'cart-offers', 'belts', 'cart-offers.py'), 'utf8');
const REMOVE = 'unstruct_event_com_snowplowanalytics_snowplow_remove_from_cart_1';

let seq = 0;
function input(payload: Record<string, unknown>, cartOffers: Record<string, unknown> | null): BeltInput {
  const id = `e-${++seq}`;
  return {
    eventId: id,
    headers: { 'grnry-correlation-id': 'alice', 'grnry-event-id': id, 'grnry-created': 1000 },
    payload,
    profile: cartOffers === null ? null : { cart_offers: cartOffers },
  };
}
const removal = (sku: string): Record<string, unknown> => ({ event_name: 'remove_from_cart', [REMOVE]: { sku, quantity: 1 } });
const purchase = (total: number): Record<string, unknown> => ({ event_name: 'transaction', tr_total: total });
const offer = (skus: string[], value: number): unknown => ({ _action: 'send-offer', payload: { user_id: 'alice', skus, purchase_value: value, discount_percent: 10 }, key: 'offer/alice' });
const offerSent = { _id: 'alice', _path: ['cart_offers', 'offer_sent'], _value: { _v: true } };

describe('examples/cart-offers belt', () => {
  const pool = new PythonBeltPool({ processes: 1 });
  afterAll(() => pool.close());

  it('keeps the cart state and decides on the offer as seed 004 describes', async () => {
    const [firstRemoval, smallPurchase, bigPurchase, removalAfterPurchase, alreadySent, noRemovals] = await pool.runBatch(SOURCE, 'cart-offers.py', [
      input(removal('sku-1'), null),
      input(purchase(20), { removed_items: ['sku-1'] }),
      input(purchase(80), { removed_items: ['sku-1'] }),
      input(removal('sku-2'), { removed_items: ['sku-1'], purchase: true, purchase_value: 60 }),
      input(purchase(500), { removed_items: ['sku-1'], purchase: true, purchase_value: 80, offer_sent: true }),
      input(purchase(80), null),
    ]);
    for (const r of [firstRemoval, smallPurchase, bigPurchase, removalAfterPurchase, alreadySent, noRemovals]) expect(r.error).toBeUndefined();
    expect(firstRemoval.outputs).toEqual([{ _operation: '_add_to_set', _id: 'alice', _path: ['cart_offers', 'removed_items'], _value: { _v: 'sku-1' } }]);
    // 20 is not over 50: no offer.
    expect(smallPurchase.outputs).toEqual([
      { _id: 'alice', _path: ['cart_offers', 'purchase'], _value: { _v: true } },
      { _id: 'alice', _path: ['cart_offers', 'purchase_value'], _value: { _v: 20 } },
    ]);
    // Over 50 with removed items: offer_sent and the keyed action.
    expect(bigPurchase.outputs.slice(2)).toEqual([offerSent, offer(['sku-1'], 80)]);
    // Removed items after a qualifying purchase: the offer covers them all.
    expect(removalAfterPurchase.outputs.slice(1)).toEqual([offerSent, offer(['sku-1', 'sku-2'], 60)]);
    // Once sent, nothing changes any more.
    expect(alreadySent.outputs).toEqual([]);
    expect(alreadySent.logs).toEqual(['Activity ignored - offer already sent to user']);
    // Nothing removed: a purchase alone sends nothing.
    expect(noRemovals.outputs).toHaveLength(2);
  });
});

describe('Action in the JavaScript sandbox', () => {
  it('carries the optional dedupe key', async () => {
    const sb = await BeltSandbox.create(`function execute(h, p) { return [Action('a', { x: 1 }), Action('b', null, { key: 'k/' + p.u }), Action('c')]; }`, 'a.js');
    try {
      const [r] = await sb.runBatch([{ eventId: 'e', headers: { 'grnry-correlation-id': 'u' }, payload: { u: 'u1' }, profile: null }]);
      expect(r.outputs).toEqual([{ _action: 'a', payload: { x: 1 } }, { _action: 'b', payload: null, key: 'k/u1' }, { _action: 'c', payload: null }]);
    } finally {
      sb.dispose();
    }
  });
});
