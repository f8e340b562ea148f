import { monthPartition } from '../../src/events/partitions';

describe('event store month partitions', () => {
  it('places an instant in its UTC month, bounds half-open', () => {
    expect(monthPartition(Date.parse('2024-12-31T23:59:59.999Z'))).toEqual({
      name: 'events_p202412',
      from: '2024-12-01T00:00:00.000Z',
      to: '2025-01-01T00:00:00.000Z',
    });
    expect(monthPartition(Date.parse('2025-01-01T00:00:00.000Z')).name).toBe('events_p202501');
    // A local-time month boundary does not move it: partitions are UTC.
    expect(monthPartition(Date.parse('2024-03-01T00:30:00+01:00')).name).toBe('events_p202402');
  });

  it('bounds December 9999, the last month an event may have, by 10000-01-01 as PostgreSQL reads it', () => {
    expect(monthPartition(Date.UTC(9999, 11, 31, 23, 59, 59, 999))).toEqual({ name: 'events_p999912', from: '9999-12-01T00:00:00.000Z', to: '10000-01-01T00:00:00.000Z' });
  });
});
