/**
 * beltline's custom Temporal search attributes, registered by the local stack at start
 * (`temporal server start-dev --search-attribute`). Workflows and clients take the names from
 * here so a renamed attribute cannot drift from what the server knows. No imports: workflow code
 * bundles this file.
 */
export const SEARCH_ATTRIBUTE_EVENT_TYPES = 'BeltlineEventTypes';
export const SEARCH_ATTRIBUTE_EVENT_COUNT = 'BeltlineEventCount';
export const SEARCH_ATTRIBUTE_BELTS = 'BeltlineBelts';
export const SEARCH_ATTRIBUTE_SOURCE = 'BeltlineSource';

/** The value types `--search-attribute` accepts that beltline uses. */
export type SearchAttributeKind = 'Keyword' | 'KeywordList' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'Text';

/** Name → type, in the spelling `temporal server start-dev --search-attribute Name=Type` wants. */
export const BELTLINE_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeKind>> = Object.freeze({
  [SEARCH_ATTRIBUTE_EVENT_TYPES]: 'KeywordList',
  [SEARCH_ATTRIBUTE_EVENT_COUNT]: 'Int',
  [SEARCH_ATTRIBUTE_BELTS]: 'KeywordList',
  [SEARCH_ATTRIBUTE_SOURCE]: 'Keyword',
});
