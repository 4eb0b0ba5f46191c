import type { OperationContext } from '../operations/operation.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What a storage profile (selected by the job's RoleArn) gives the engine. */
export interface StorageProfile {
  /** Manifest reads and report writes. */
  readonly objects: ObjectStore;
  /** Per-task operation calls. */
  readonly operations: OperationContext;
}
