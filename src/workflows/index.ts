export { ingestBatch } from './ingest-batch';
export type { IngestBatchResult } from './ingest-batch';
export { beltRerun, progressQuery } from './belt-rerun';
export type { BeltRerunInput, RerunProgress } from './belt-rerun';
export { reapBucket } from './reaper';
export type { ReapBucketInput } from './reaper';
export { recoverBadRows, recoveryProgressQuery } from './recovery';
export type { RecoverBadRowsInput, RecoveryProgress, RecoveryResult } from './recovery';
