export { ingestBatch } from './ingest-batch';
export type { IngestBatchResult } from './ingest-batch';
