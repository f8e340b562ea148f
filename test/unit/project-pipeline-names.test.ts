import { topicRoutes } from '../../src/bridge/bridge';
import { batchWorkflowId } from '../../src/batches/record';
import { beltTaskQueue } from '../../src/belts/definition';
import { reaperId } from '../../src/expiry/buckets';
import { projectConfig } from '../../src/projects/topics';

describe('project-scoped names on the pipeline', () => {
  it('keeps the default project\'s workflow ids and task queues, and gives another project its own', () => {
    expect(batchWorkflowId('raw', 0, '1', '5')).toBe('ingest-raw-p0-o1-5');
    expect(batchWorkflowId('raw', 0, '1', '5', 'default')).toBe('ingest-raw-p0-o1-5');
    expect(batchWorkflowId('clicks', 0, '1', '5', 'shop')).toBe('ingest-clicks-p0-o1-5@shop');
    expect(beltTaskQueue('q', 'b')).toBe('q-belt-b');
    expect(beltTaskQueue('q', 'b', 'shop')).toBe('q-belt-b@shop');
    // A project named like a belt-name prefix cannot take another's queue.
    expect(beltTaskQueue('q', 'belt-x')).not.toBe(beltTaskQueue('q', 'x', 'belt'));
    expect(reaperId('q', 7, 1000)).toBe('reaper-q-1000ms-7');
    expect(reaperId('q', 7, 1000, 'shop')).toBe('reaper-q-1000ms-7@shop');
  });

  it('routes each raw topic to its project and a harvested topic to every project harvesting it', () => {
    const routes = topicRoutes(
      'raw',
      new Map([
        ['default', ['clicks']],
        ['shop', ['clicks', 'orders']],
        ['blog', []],
      ]),
    );
    expect(Object.fromEntries(routes)).toEqual({ raw: ['default'], 'raw.shop': ['shop'], 'raw.blog': ['blog'], clicks: ['default', 'shop'], orders: ['shop'] });
  });

  it('gives a project its own topics and leaves the rest of the configuration alone', () => {
    const cfg = { BELTLINE_RAW_TOPIC: 'raw', BELTLINE_BAD_TOPIC: 'bad', BELTLINE_PROFILE_UPDATES_TOPIC: 'pu', BELTLINE_RECOVERY_FAILED_TOPIC: 'rf', BELTLINE_ENRICHED_TOPIC: 'en', BELTLINE_TASK_QUEUE: 'q' };
    expect(projectConfig(cfg, 'default')).toBe(cfg);
    expect(projectConfig(cfg, 'shop')).toEqual({ BELTLINE_RAW_TOPIC: 'raw.shop', BELTLINE_BAD_TOPIC: 'bad.shop', BELTLINE_PROFILE_UPDATES_TOPIC: 'pu.shop', BELTLINE_RECOVERY_FAILED_TOPIC: 'rf.shop', BELTLINE_ENRICHED_TOPIC: 'en.shop', BELTLINE_TASK_QUEUE: 'q' });
  });
});
