import { beltsTaking, type BeltHead } from '../../src/belts/registry';
import type { BeltDefinition } from '../../src/belts/definition';

const head = (name: string, eventTypes: string[], running = true): BeltHead => ({
  name,
  version: `${name}-v1`,
  number: 1,
  running,
  source: 'api',
  definition: { name, eventTypes } as unknown as BeltDefinition,
});

describe('beltsTaking: the belts a batch runs, from the cached heads', () => {
  const heads = [head('zeta', ['snowplow']), head('alpha', ['cart', 'order']), head('stopped', ['cart'], false), head('mid', ['order'])];

  it('takes the running heads subscribed to any of the batch types, by name', () => {
    expect(beltsTaking(heads, ['order', 'snowplow']).map((b) => b.name)).toEqual(['alpha', 'mid', 'zeta']);
    expect(beltsTaking(heads, ['cart']).map((b) => b.name)).toEqual(['alpha']);
  });

  it('leaves out stopped belts and types nobody takes', () => {
    expect(beltsTaking(heads, ['page_view'])).toEqual([]);
    expect(beltsTaking(heads, [])).toEqual([]);
    expect(beltsTaking([head('stopped', ['cart'], false)], ['cart'])).toEqual([]);
  });
});
