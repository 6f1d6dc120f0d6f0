// File-backed rows of /proc/PID/maps and of eyrie's views, in one shape for comparing them.
import { maps, type World } from '../../src/projections/index.js'

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

/** The file-backed rows of a /proc/PID/maps text, devices' left out (eyrie tracks views of files);
 *  with `deleted`, also those whose name is gone (the kernel's " (deleted)" stays on the path). */
export const procMaps = (text: string, deleted = false): MapsRow[] =>
  mergeRows(
    text.split('\n').flatMap((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s+(\/.*)$/.exec(line)
      if (m === null || m[5] === '0' || m[6].startsWith('/dev/') || (!deleted && m[6].endsWith(' (deleted)'))) return []
      return [{ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], offset: parseInt(m[4], 16), path: m[6] }]
    }),
  )

/** eyrie's views of a process (the `maps` query) as /proc/PID/maps lists them. */
export const viewRows = (w: World, pid: number): MapsRow[] =>
  mergeRows(maps(w, pid).map((m) => ({ start: m.start, end: m.end, perms: `${m.prot}${m.shared ? 's' : 'p'}`, offset: m.offset, path: m.deleted ? `${m.path} (deleted)` : m.path })))
