import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * beltline's custom search attributes: what makes batches findable in the Temporal Web UI and
 * CLI (e.g. `BeltlineEventTypes = 'snowplow'`). A Temporal server must know them before a
 * workflow sets them: the local stack registers this list when it starts the dev server
 * (`--search-attribute`); a cluster's operator registers the same (docs/operating.md). Workflow code
 * bundles this file, so it imports nothing but Temporal's common types.
 */
export const SEARCH_ATTRIBUTE_EVENT_TYPES = 'BeltlineEventTypes';
export const SEARCH_ATTRIBUTE_EVENT_COUNT = 'BeltlineEventCount';
export const SEARCH_ATTRIBUTE_BELTS = 'BeltlineBelts';
export const SEARCH_ATTRIBUTE_SOURCE = 'BeltlineSource';
/** The project a workflow works for: every workflow beltline starts carries it. */
export const SEARCH_ATTRIBUTE_PROJECT = 'BeltlineProject';

export const EVENT_TYPES = defineSearchAttributeKey(SEARCH_ATTRIBUTE_EVENT_TYPES, SearchAttributeType.KEYWORD_LIST);
export const EVENT_COUNT = defineSearchAttributeKey(SEARCH_ATTRIBUTE_EVENT_COUNT, SearchAttributeType.INT);
export const BELTS = defineSearchAttributeKey(SEARCH_ATTRIBUTE_BELTS, SearchAttributeType.KEYWORD_LIST);
export const SOURCE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_SOURCE, SearchAttributeType.KEYWORD);
export const PROJECT = defineSearchAttributeKey(SEARCH_ATTRIBUTE_PROJECT, SearchAttributeType.KEYWORD);

/** The value types `--search-attribute` accepts that beltline uses. */
export type SearchAttributeKind = 'Keyword' | 'KeywordList' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'Text';

/** Name → type, in the spelling `temporal server start-dev --search-attribute Name=Type` wants. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeKind>> = Object.freeze({
  [SEARCH_ATTRIBUTE_EVENT_TYPES]: 'KeywordList',
  [SEARCH_ATTRIBUTE_EVENT_COUNT]: 'Int',
  [SEARCH_ATTRIBUTE_BELTS]: 'KeywordList',
  [SEARCH_ATTRIBUTE_SOURCE]: 'Keyword',
  [SEARCH_ATTRIBUTE_PROJECT]: 'Keyword',
});
