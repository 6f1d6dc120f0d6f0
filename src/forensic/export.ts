// `export --at T DIR|FILE.tar`: every file the guest's world names at T, as it was then, plus a
// manifest of what is not known. Unknown bytes are written as zeros and listed; a file whose size is
// unknown is written up to its last known byte.
import { createHash } from 'node:crypto'
import type { Journal } from '../journal/journal.js'
import { worldAt } from '../engine/replay.js'
import { attributesOf, ioUringUsers, readBackNote, readPlan, type Attributes } from '../projections/index.js'
import { PayloadCache, streamPieces, type Range } from './content.js'
import { exportedMode, planExport, type ExportPlan, type Refusal } from './exportPlan.js'
import { ExportConflict, MANIFEST, ROOT, type ExportTarget } from './exportTargets.js'

export interface ManifestFile extends Attributes {
  readonly path: string
  readonly size: number
  /** false: the file existed before eyrie saw it and its real size was never learned */
  readonly sizeKnown: boolean
  /** of the exported bytes (unknown ranges exported as zeros); see `unknown` before trusting it as the file's */
  readonly sha256: string
  readonly unknown: readonly Range[]
  // (Attributes: mode as the guest's world last saw it, exported without set-user-ID and
  // set-group-ID, 0644 where not known; owner and group listed only, never given)
  /** a hard link: the first name of the same file in this export */
  readonly linkOf: string | null
  /** set when a live process held the file open for writing at `seq` in record's read-back mode:
   *  the bytes are as last read back and may lack some written since (projections' readBackNote) */
  readonly note: string | null
}

export interface Manifest {
  readonly format: 'eyrie-export/1'
  readonly guest: string
  readonly seq: number
  readonly ts: string | null
  readonly under: string
  readonly root: string
  readonly files: readonly ManifestFile[]
  readonly dirs: readonly string[]
  /** the exported directories whose permission bits (07777) or owner the world knows: modes are
   *  given as for files (the rest are exported 0755), owners listed only */
  readonly dirAttributes: Readonly<Record<string, Attributes>>
  readonly symlinks: ReadonlyArray<{ readonly path: string; readonly target: string }>
  /** fifos, sockets and device nodes the world holds under `under`: listed, not made */
  readonly specials: ExportPlan['specials']
  /** names not exported: unsafe (would leave the root) or conflicting (a name that is both a directory and a file) */
  readonly refused: readonly Refusal[]
  /** processes that used io_uring up to `seq`, from which seq: what they changed through a ring is
   *  not in the journal, so files may differ from this export (docs/security.md) */
  readonly ioUring: ReadonlyArray<{ readonly pid: number; readonly seq: number }>
  /** lagging: files with a note */
  readonly totals: { readonly files: number; readonly bytes: number; readonly unknownBytes: number; readonly incomplete: number; readonly lagging: number }
}

/** Unsafe names in the journal; nothing was written. */
export class ExportRefused extends Error {
  override readonly name = 'ExportRefused'
  constructor(readonly refused: readonly Refusal[]) {
    super(`${refused.length} name(s) would be written outside the export root, nothing written: ${refused.slice(0, 3).map((r) => `${JSON.stringify(r.path)} (${r.reason})`).join('; ')}${refused.length > 3 ? '; ...' : ''}`)
  }
}

export interface ExportOptions {
  /** only names at or below this guest directory (default '/') */
  readonly under?: string
  /** export the safe names and list the unsafe ones in the manifest, instead of refusing the export */
  readonly skipUnsafe?: boolean
  readonly onProgress?: (files: number, totalFiles: number, bytes: number) => void
}

export const exportAt = async (j: Journal, guest: string, seq: number, openTarget: (ts: bigint | null) => Promise<ExportTarget>, opts: ExportOptions = {}): Promise<Manifest> => {
  const w = await worldAt(j, guest, seq)
  const under = opts.under ?? '/'
  const plan = planExport(w, under)
  if (plan.refused.length > 0 && opts.skipUnsafe !== true) throw new ExportRefused(plan.refused)
  let ts: bigint | null = null
  if (seq > 0) for await (const b of j.read(guest, seq, seq)) ts = b[0]?.ts ?? ts
  const target = await openTarget(ts)
  try {
    return await write(j, guest, seq, ts, under, plan, ioUringUsers(w), (path) => readBackNote(w, path), target, opts)
  } finally {
    await target.close()
  }
}

const write = async (j: Journal, guest: string, seq: number, ts: bigint | null, under: string, plan: ExportPlan, ioUring: Manifest['ioUring'], noteOf: (path: string) => string | null, target: ExportTarget, opts: ExportOptions): Promise<Manifest> => {
  const refused: Refusal[] = [...plan.refused]
  const conflict = async (path: string, f: () => Promise<void>): Promise<boolean> => {
    try {
      await f()
      return true
    } catch (err) {
      if (!(err instanceof ExportConflict)) throw err
      refused.push({ path, reason: err.message })
      return false
    }
  }
  const dirs: string[] = []
  const dirAttributes: Record<string, Attributes> = {}
  for (const d of plan.dirs) {
    const seen = attributesOf(d.node)
    if (!(await conflict(d.path, () => target.dir(d.rel, seen.mode === null ? null : exportedMode(seen.mode))))) continue
    dirs.push(d.path)
    if (seen.mode !== null || seen.uid !== null || seen.gid !== null) dirAttributes[d.path] = seen
  }
  const cache = new PayloadCache(j, guest)
  const files: ManifestFile[] = []
  const written = new Map<string, { rel: string; unknown: Range[]; sha256: string }>() // first names, for hard links
  let bytes = 0
  let unknownBytes = 0
  let incomplete = 0
  let lagging = 0
  for (const f of plan.files) {
    const first = f.linkOf === null ? undefined : written.get(f.linkOf)
    const pieces = readPlan(f.node.content)
    const size = pieces.length === 0 ? 0 : pieces[pieces.length - 1].end
    let unknown: Range[] = []
    let sha256 = ''
    if (first !== undefined) {
      if (!(await conflict(f.path, () => target.link(f.rel, first.rel)))) continue
      unknown = first.unknown
      sha256 = first.sha256
    } else {
      const hash = createHash('sha256')
      const mode = f.node.mode === undefined ? null : exportedMode(f.node.mode)
      const ok = await conflict(f.path, () => target.file(f.rel, size, async (sink) => {
        unknown = await streamPieces(cache, pieces, (chunk, zeros) => {
          hash.update(chunk)
          return sink(chunk, zeros)
        })
      }, mode))
      if (!ok) continue
      sha256 = hash.digest('hex')
      written.set(f.path, { rel: f.rel, unknown, sha256 })
      bytes += size
    }
    const u = unknown.reduce((n, r) => n + r.end - r.start, 0)
    unknownBytes += u
    if (u > 0 || f.node.content.size === null) incomplete++
    const note = noteOf(f.path)
    if (note !== null) lagging++
    files.push({ path: f.path, size, sizeKnown: f.node.content.size !== null, sha256, ...attributesOf(f.node), unknown, linkOf: f.linkOf, note })
    opts.onProgress?.(files.length, plan.files.length, bytes)
  }
  const symlinks: Array<{ path: string; target: string }> = []
  for (const s of plan.symlinks) if (await conflict(s.path, () => target.symlink(s.rel, s.target))) symlinks.push({ path: s.path, target: s.target })
  const manifest: Manifest = {
    format: 'eyrie-export/1', guest, seq, ts: ts === null ? null : ts.toString(), under, root: ROOT,
    files, dirs, dirAttributes, symlinks, specials: plan.specials, refused, ioUring,
    totals: { files: files.length, bytes, unknownBytes, incomplete, lagging },
  }
  await target.manifest(`${JSON.stringify(manifest, null, 2)}\n`)
  return manifest
}

export { MANIFEST, ROOT }
