// File-backed rows of /proc/PID/maps and of eyrie's views, in one shape for comparing them.
import type { World } from '../../src/projections/index.js'

export interface MapsRow {
  start: number
  end: number
  perms: string
  offset: number
  path: string
}

/** Rows with adjacent compatible ones merged: the kernel merges VMAs where it can, eyrie keeps the
 *  pieces its calls made, and both describe the same pages. */
export const mergeRows = (rows: readonly MapsRow[]): MapsRow[] => {
  const out: MapsRow[] = []
  for (const r of [...rows].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1)
    if (last !== undefined && last.end === r.start && last.perms === r.perms && last.path === r.path && last.offset + (last.end - last.start) === r.offset) {
      last.end = r.end
    } else {
      out.push({ ...r })
    }
  }
  return out
}

/** The file-backed rows of a /proc/PID/maps text; with `deleted`, also those whose name is gone
 *  (the kernel's " (deleted)" stays on the path). */
export const procMaps = (text: string, deleted = false): MapsRow[] =>
  mergeRows(
    text.split('\n').flatMap((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s+(\/.*)$/.exec(line)
      if (m === null || m[5] === '0' || (!deleted && m[6].endsWith(' (deleted)'))) return []
      return [{ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], offset: parseInt(m[4], 16), path: m[6] }]
    }),
  )

const protString = (prot: number): string => `${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}${prot & 4 ? 'x' : '-'}`

/** eyrie's views of a process as /proc/PID/maps would list them: a file no name is left for carries
 *  the kernel's " (deleted)". */
export const viewRows = (w: World, pid: number): MapsRow[] =>
  mergeRows(
    (w.procs.get(pid)?.views ?? []).map((v) => ({
      start: v.addr,
      end: v.addr + v.len,
      perms: `${protString(v.prot)}${v.shared ? 's' : 'p'}`,
      offset: v.offset,
      path: (w.nodes.get(v.node)?.links ?? 0) === 0 ? `${v.path} (deleted)` : v.path,
    })),
  )
