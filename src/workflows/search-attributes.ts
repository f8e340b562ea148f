import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * beltline's custom search attributes: what makes batches findable in the Temporal Web UI and
 * CLI (e.g. `BeltlineEventTypes = 'snowplow'`). The local stack registers them at start.
 */
export const EVENT_TYPES = defineSearchAttributeKey('BeltlineEventTypes', SearchAttributeType.KEYWORD_LIST);
export const EVENT_COUNT = defineSearchAttributeKey('BeltlineEventCount', SearchAttributeType.INT);
export const BELTS = defineSearchAttributeKey('BeltlineBelts', SearchAttributeType.KEYWORD_LIST);
export const SOURCE = defineSearchAttributeKey('BeltlineSource', SearchAttributeType.KEYWORD);

/** Name → type as `temporal server start-dev --search-attribute` wants them. */
export const SEARCH_ATTRIBUTES: Record<string, string> = {
  [EVENT_TYPES.name]: 'KeywordList',
  [EVENT_COUNT.name]: 'Int',
  [BELTS.name]: 'KeywordList',
  [SOURCE.name]: 'Keyword',
};
