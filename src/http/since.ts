import { parseSince } from '../replay/query';
import { HttpError } from './app';

/**
 * A `since` a route was given (ISO-8601, or 30m / 2h / 1d back from now, as the CLI takes it),
 * as an ISO instant; a 400 naming `field` when it is neither.
 */
export function sinceParam(value: string | undefined, field = 'since'): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSince(value);
  } catch (err) {
    throw new HttpError(400, 'bad_request', `${field}: ${(err as Error).message}`, { field });
  }
}
