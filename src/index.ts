// eyrie as a library: `import { replay, ... } from 'eyrie'`. The CLI is one user of these; a test of
// your own projection is another (see also 'eyrie/testing').

// Your own fold over a journal or a stream of events, with its own checkpoints.
export { replay, memoryCheckpoints, msgpackCodec, ReplayError, type Codec, type CheckpointStore, type StoredCheckpoint, type EventSource, type ReplayOptions, type Replayed } from './library/replay.js'
export { lmdbCheckpoints, type LmdbCheckpoints } from './library/checkpoints.js'

// Events: the model, its codecs and the Linux constants they carry.
export * from './events/index.js'

// The core projections: eyrie's own pure fold and the queries over its state.
export {
  emptyWorld, evolve, fold, ls, fds, maps, ps, openFiles, contentPlan, readPlan, accessMode,
  encodeWorld, decodeWorld, cloneWorld, lookup, resolve,
  type World, type FsNode, type Ofd, type FdTable, type Proc, type View, type Content, type Extent, type Piece,
  type LsEntry, type FdRow, type MapRow, type PsRow, type OpenFileRow, type ContentPlan,
} from './projections/index.js'

// The journal and the engine around it.
export type { Journal, GuestInfo, AppendResult, Checkpoint, Forget } from './journal/journal.js'
export { JournalError, type JournalErrorCode } from './journal/errors.js'
export { openLmdbJournal, defaultJournalDir, type LmdbJournalOptions } from './journal/lmdb.js'
export { worldAt, Ingest, eventOf, DEFAULT_CHECKPOINT_EVERY } from './engine/replay.js'
export { materialize, unknownRanges, UnknownBytesError, type Range } from './engine/content.js'
export { parseTimeRef, resolveTimeRef, type TimeRef } from './engine/timeref.js'

// Forensic answers: what changed, every version of a file, the files at T, the process tree, and the
// journal's health and retention.
export { diff, type Diff, type DiffOptions, type FileChange, type ProcChange, type FdChange, type Side } from './forensic/diff.js'
export { timeline, type Version, type TimelineOptions } from './forensic/timeline.js'
export { exportAt, ExportRefused, type Manifest, type ManifestFile, type ExportOptions } from './forensic/export.js'
export { openDirTarget, openTarTarget, ExportConflict, type ExportTarget } from './forensic/exportTargets.js'
export { planExport, relativeOf, type ExportPlan } from './forensic/exportPlan.js'
export { processTree, formatTree, type TreeNode } from './forensic/tree.js'
export { digestOf, PayloadCache, type Digest } from './forensic/content.js'
export { verify, type VerifyReport, type Problem } from './forensic/verify.js'
export { journalInfo, diskUsage, type JournalInfo, type GuestSummary } from './forensic/info.js'
export { Retention, type GcReport, type CollectOptions } from './forensic/retention.js'
