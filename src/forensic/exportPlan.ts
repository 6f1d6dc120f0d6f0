// What `export --at T` writes, decided before anything is written: every name the guest's world holds
// at T (under a chosen directory), mapped to a path relative to the export root. A journal is
// untrusted input (a crafted JSONL can name `/../../etc/x`), so a name maps only if every component
// is an ordinary file name; the rest are refused, never normalised into somewhere else.
import { nameToBytes } from '../events/index.js'
import { type FsNode, type World } from '../projections/index.js'

export type PlanEntry =
  | { readonly type: 'dir'; readonly path: string; readonly rel: string; readonly node: FsNode }
  | { readonly type: 'file'; readonly path: string; readonly rel: string; readonly node: FsNode; readonly linkOf: string | null }
  | { readonly type: 'symlink'; readonly path: string; readonly rel: string; readonly target: string }

export interface Refusal { readonly path: string; readonly reason: string }

export interface ExportPlan {
  readonly dirs: ReadonlyArray<Extract<PlanEntry, { type: 'dir' }>>
  readonly files: ReadonlyArray<Extract<PlanEntry, { type: 'file' }>>
  readonly symlinks: ReadonlyArray<Extract<PlanEntry, { type: 'symlink' }>>
  /** fifos, sockets, device nodes: named in the manifest, not made (no content; making a device
   *  node from a journal would be a way in) */
  readonly specials: ReadonlyArray<{ readonly path: string; readonly type: SpecialType }>
  readonly refused: readonly Refusal[]
}

export type SpecialType = Exclude<FsNode['type'], 'file' | 'dir' | 'symlink'>

/** The permissions an export gives a file or directory whose mode the guest's world knows: the same,
 *  less set-user-ID and set-group-ID (a journal is untrusted input: a set-user-ID file made from one,
 *  owned by whoever exports, would be a way in; the manifest keeps the mode as it was). */
export const exportedMode = (mode: number): number => mode & 0o1777

const NAME_MAX = 255

/** The export-relative form of an absolute guest path, or why there is none. */
export const relativeOf = (path: string): { rel: string } | { reason: string } => {
  if (!path.startsWith('/')) return { reason: 'not an absolute path' }
  if (path === '/') return { rel: '' }
  const parts = path.slice(1).split('/')
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') return { reason: `component ${JSON.stringify(p)} would leave its directory or is ambiguous` }
    if (p.includes('\0')) return { reason: 'NUL byte in a name' }
    if (nameToBytes(p).length > NAME_MAX) return { reason: `a component is longer than ${NAME_MAX} bytes` }
  }
  return { rel: parts.join('/') }
}

const under = (path: string, dir: string): boolean => dir === '/' || path === dir || path.startsWith(`${dir}/`)

/** Every name at or below `dir` (default '/') in `w`, sorted, with parents before children. */
export const planExport = (w: World, dir = '/'): ExportPlan => {
  const dirs: Array<Extract<PlanEntry, { type: 'dir' }>> = []
  const files: Array<Extract<PlanEntry, { type: 'file' }>> = []
  const symlinks: Array<Extract<PlanEntry, { type: 'symlink' }>> = []
  const refused: Refusal[] = []
  const specials: Array<{ path: string; type: SpecialType }> = []
  const firstName = new Map<number, string>()
  const names = [...w.names].filter(([p]) => under(p, dir)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  for (const [path, id] of names) {
    const node = w.nodes.get(id)
    if (node === undefined) continue
    const r = relativeOf(path)
    if ('reason' in r) {
      refused.push({ path, reason: r.reason })
      continue
    }
    if (r.rel === '') continue // the root is the export directory itself
    if (node.type === 'dir') dirs.push({ type: 'dir', path, rel: r.rel, node })
    else if (node.type === 'symlink') symlinks.push({ type: 'symlink', path, rel: r.rel, target: node.target ?? '' })
    else if (node.type !== 'file') specials.push({ path, type: node.type })
    else {
      files.push({ type: 'file', path, rel: r.rel, node, linkOf: firstName.get(id) ?? null })
      if (!firstName.has(id)) firstName.set(id, path)
    }
  }
  return { dirs, files, symlinks, specials, refused }
}
