// On-access and forensic scanning with ClamAV. Core (leaf): clamd, client, scanner, cache, pool,
// filter, policy, gate, quarantine. Above the engine: live (the recorder's hook), closes and judgments
// (close after write, judged in the background) and forensic.
export { startClamd, connectClamd, DATABASE_EXTENSIONS, DEFAULT_MAX_BYTES, type Clamd, type StartClamdOptions } from './clamd.js'
export { parseEndpoint, describeEndpoint, type ClamdEndpoint } from './endpoint.js'
export { ClamdClient } from './client.js'
export { Scanner, sha256Of, type ScannerOptions, type ScannerStats } from './scanner.js'
export { VerdictCache, cacheKey } from './cache.js'
export { CLEAN, describeVerdict, type Verdict, type ScanResult, type VerdictSource } from './verdict.js'
export { DEFAULT_EXTENSIONS, DEFAULT_EXTENSION_SET, MAGIC, extensionOf, magicOf, matchByName, openFilterOf, shouldScan, shebangOf, type FilterOptions, type FilterMatch } from './filter.js'
export { DEFAULT_FAILURE_POLICY, parseFailurePolicy, type FailurePolicy, type FailureAction } from './policy.js'
export { Gate, EACCES, type ContentRef, type ContentSource, type Decision, type GateOptions, type Trigger } from './gate.js'
export { quarantine, listQuarantine, restoreQuarantine, quarantineDir, type QuarantineRecord, type QuarantineInfo, type RestoreOptions } from './quarantine.js'
export { ScannerError, type ScannerErrorCode } from './errors.js'
export { liveSource, gateDecider, gateForesight, wallClock, type GateRequest, type DeciderOptions, type GateDeciderOptions, type LiveSourceOptions } from './live.js'
export { closedForWriting, closeJudge, scanClosedFiles, withNodes, type Closed, type CloseJudgeOptions } from './closes.js'
export { Judgments, SerialAppends, Later, ReadGuard, describeJudgmentError, DEFAULT_BOUND, DEFAULT_BATCH, type Appended, type JudgmentsOptions, type JudgmentsStats } from './judgments.js'
export { scanContent, scanAt, scanHistory, filesIn, tally, type ContentScan, type HistoryScan, type Version } from './forensic.js'
