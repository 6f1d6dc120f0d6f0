// Forensic scanning: content as the guest saw it at any past seq, from the journal alone (a file
// written and deleted long ago is still there to judge), and every version a file went through.
import type { Event, Kind } from '../events/index.js'
import type { Journal } from '../journal/journal.js'
import { contentPlan, emptyWorld, evolve, lookup, type World } from '../projections/index.js'
import { materialize } from '../engine/content.js'
import { worldAt } from '../engine/replay.js'
import { sha256Of, type Scanner } from './scanner.js'
import type { ScanResult, Verdict } from './verdict.js'

export interface ContentScan {
  readonly path: string
  readonly seq: number
  readonly size: number | null
  /** bytes eyrie never saw, scanned as zeros (a signature spanning them can be missed) */
  readonly unknownBytes: number
  /** null when not scanned: see skipped */
  readonly result: ScanResult | null
  readonly skipped: string | null
}

const skip = (path: string, seq: number, why: string): ContentScan => ({ path, seq, size: null, unknownBytes: 0, result: null, skipped: why })

/** Bytes of a file in `w` (unknown ranges as zeros), or why there are none. */
const bytesIn = async (j: Journal, guest: string, w: World, path: string): Promise<{ bytes: Buffer; size: number | null; unknownBytes: number } | string> => {
  const plan = contentPlan(w, path)
  if (!plan.ok) return plan.reason
  const node = lookup(w, path)
  if (node?.type === 'symlink') return `${path} is a dangling symlink at #${w.seq}`
  if (plan.size === null && plan.pieces.length === 0) return `content of ${path} never seen (it predates the recording)`
  const { bytes, unknown } = await materialize(j, guest, plan.pieces)
  return { bytes, size: plan.size, unknownBytes: unknown.reduce((n, r) => n + r.end - r.start, 0) }
}

const scanIn = async (scanner: Scanner, j: Journal, guest: string, w: World, path: string): Promise<ContentScan> => {
  const got = await bytesIn(j, guest, w, path)
  if (typeof got === 'string') return skip(path, w.seq, got)
  return { path, seq: w.seq, size: got.size, unknownBytes: got.unknownBytes, result: await scanner.scanBytes(got.bytes), skipped: null }
}

/** content(path, seq) through clamd. */
export const scanContent = async (scanner: Scanner, j: Journal, guest: string, seq: number, path: string): Promise<ContentScan> =>
  scanIn(scanner, j, guest, await worldAt(j, guest, seq), path)

/** Runs fn over items with at most n at once, results in item order. */
const mapLimit = async <T, R>(items: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> => {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i])
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker))
  return out
}

/** Every regular file the world names, sorted. */
export const filesIn = (w: World): string[] =>
  [...w.names].filter(([, id]) => w.nodes.get(id)?.type === 'file').map(([p]) => p).sort()

/** The given paths at seq, or every file known at seq. `parallel` files are materialised at once. */
export const scanAt = async (scanner: Scanner, j: Journal, guest: string, seq: number, paths: readonly string[] | null, parallel = 4): Promise<ContentScan[]> => {
  const w = await worldAt(j, guest, seq)
  return mapLimit(paths ?? filesIn(w), parallel, (p) => scanIn(scanner, j, guest, w, p))
}

export interface Version {
  /** the event after which the file held these bytes */
  readonly seq: number
  readonly ts: bigint
  readonly size: number | null
  readonly unknownBytes: number
  readonly result: ScanResult
}

export interface HistoryScan {
  readonly path: string
  readonly versions: readonly Version[]
  /** the first version whose verdict is infected */
  readonly firstInfected: Version | null
}

/** Kinds that can change what a name holds. */
const CONTENT_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'snapshot', 'fd.open', 'file.write', 'file.truncate', 'file.allocate', 'file.clone', 'file.rename', 'file.unlink', 'file.link',
  'file.symlink', 'file.rmdir', 'file.observe', 'file.quarantine', 'view.sync', 'view.remove', 'file.sync',
])

/** Cheap identity of what `path` names: changes with every write (last write seq), truncation (size),
 *  new name binding (node id) and extent split. Kinds that can change bytes without touching those
 *  (observe, allocate, a hole through a view) also compare the extents themselves. */
const identityOf = (w: World, path: string, e: Event): string | null => {
  const n = lookup(w, path)
  if (n === undefined || n.type !== 'file') return null
  const cheap = `${n.id}:${n.content.size}:${n.lastWrite?.seq ?? 0}:${n.content.extents.length}`
  return e.kind === 'file.observe' || e.kind === 'file.allocate' || e.kind === 'view.remove' ? `${cheap}:${JSON.stringify(n.content.extents)}` : cheap
}

/** Every version of `path` up to `upTo` (default: the end), each scanned (identical bytes once),
 *  and the first infected one. A version is the content after an event that changed it; a version
 *  whose bytes equal the previous one's (a rewrite of the same bytes) is not listed again. */
export const scanHistory = async (scanner: Scanner, j: Journal, guest: string, path: string, upTo?: number): Promise<HistoryScan> => {
  const last = upTo ?? (await j.lastSeq(guest))
  const w = emptyWorld()
  const versions: Version[] = []
  let identity: string | null = null
  let lastHash: string | null = null
  for await (const batch of j.read(guest, 1, last)) {
    for (const e of batch) {
      evolve(w, e)
      if (!CONTENT_KINDS.has(e.kind)) continue
      const id = identityOf(w, path, e)
      if (id === identity) continue
      identity = id
      if (id === null) {
        lastHash = null // gone: the next content, even if equal, is a new version of the name
        continue
      }
      const got = await bytesIn(j, guest, w, path)
      if (typeof got === 'string') continue
      const sha = sha256Of(got.bytes)
      if (sha === lastHash) continue
      lastHash = sha
      versions.push({ seq: e.seq, ts: e.ts, size: got.size, unknownBytes: got.unknownBytes, result: await scanner.scanBytes(got.bytes, sha) })
    }
  }
  return { path, versions, firstInfected: versions.find((v) => v.result.verdict.kind === 'infected') ?? null }
}

/** Summary counts over verdicts (for exit codes and the last line of a report). */
export const tally = (verdicts: ReadonlyArray<Verdict | null>): { clean: number; infected: number; error: number; skipped: number } => {
  const t = { clean: 0, infected: 0, error: 0, skipped: 0 }
  for (const v of verdicts) {
    if (v === null) t.skipped++
    else t[v.kind]++
  }
  return t
}
