import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  BELTLINE_SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_BELTS,
  SEARCH_ATTRIBUTE_EVENT_COUNT,
  SEARCH_ATTRIBUTE_EVENT_TYPES,
  SEARCH_ATTRIBUTE_SOURCE,
} from '../stack/search-attributes';

/**
 * beltline's custom search attributes: what makes batches findable in the Temporal Web UI and
 * CLI (e.g. `BeltlineEventTypes = 'snowplow'`). The names come from the stack, which registers
 * them when it starts Temporal.
 */
export const EVENT_TYPES = defineSearchAttributeKey(SEARCH_ATTRIBUTE_EVENT_TYPES, SearchAttributeType.KEYWORD_LIST);
export const EVENT_COUNT = defineSearchAttributeKey(SEARCH_ATTRIBUTE_EVENT_COUNT, SearchAttributeType.INT);
export const BELTS = defineSearchAttributeKey(SEARCH_ATTRIBUTE_BELTS, SearchAttributeType.KEYWORD_LIST);
export const SOURCE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_SOURCE, SearchAttributeType.KEYWORD);

/** Name → type as `temporal server start-dev --search-attribute` wants them. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, string>> = BELTLINE_SEARCH_ATTRIBUTES;
