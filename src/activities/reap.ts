import { reapPage, type ReapedPage } from '../expiry/reap';
import { logger } from '../log';
import { publishOutbox } from '../profiles/outbox';
import type { ActivityDeps } from './deps';

const log = logger('activities');

export function createReapActivities(deps: ActivityDeps) {
  const { pool, cfg } = deps;
  return {
    /** Reaps one page of an expiry bucket; see reapPage. */
    async reapBucketPage(bucket: number): Promise<ReapedPage> {
      const page = await reapPage(pool, deps.producer(), cfg.BELTLINE_RAW_TOPIC, bucket);
      await publishOutbox(pool, deps.producer(), cfg.BELTLINE_PROFILE_UPDATES_TOPIC).catch((err: unknown) => log.warn({ err }, 'change stream publish deferred'));
      return page;
    },
  };
}
