import { pastedEvent } from '../../src/belts/try';
import { beltDefinitionSchema } from '../../src/belts/definition';

describe('a pasted event to try a belt on', () => {
  const def = beltDefinitionSchema.parse({ name: 'b', eventTypes: ['page', 'click'], extractorFn: 'function execute() {}' });

  it('gets the seed headers the pipeline would give it, with an id and correlation id no profile has', () => {
    const e = pastedEvent(def, { payload: { a: 1 } }, 1_700_000_000_000, () => 'abc');
    expect(e).toEqual({
      eventId: 'try-abc',
      correlationId: 'try-abc',
      payload: { a: 1 },
      headers: { 'grnry-event-id': 'try-abc', 'grnry-correlation-id': 'try-abc', 'grnry-created': 1_700_000_000_000, 'grnry-event-type': 'page' },
    });
  });

  it('keeps the headers given, and takes its ids from them', () => {
    const e = pastedEvent(def, { headers: { 'grnry-correlation-id': 'u1', 'grnry-event-id': 'e1', 'grnry-event-type': 'click', x: 2 }, payload: null }, 5, () => 'abc');
    expect(e.eventId).toBe('e1');
    expect(e.correlationId).toBe('u1');
    expect(e.headers).toEqual({ 'grnry-event-id': 'e1', 'grnry-correlation-id': 'u1', 'grnry-created': 5, 'grnry-event-type': 'click', x: 2 });
  });
});
