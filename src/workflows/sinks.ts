import type { Sinks } from '@temporalio/workflow';

/**
 * What a batch workflow tells its worker's process about its end, for metrics and logs: a
 * workflow cannot touch prom-client or pino itself, and sink calls add nothing to its history.
 */
export interface BatchSinks extends Sinks {
  batches: {
    completed(summary: { events: number; badRows: number; applied: number }): void;
    failed(reason: string): void;
  };
}
