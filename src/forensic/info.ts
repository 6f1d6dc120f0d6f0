// `eyrie info`: what the journal holds, per guest and on disk.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Journal } from '../journal/journal.js'
import { BLOB_DIR } from '../journal/blobs.js'

export interface GuestSummary {
  readonly guest: string
  readonly events: number
  readonly payloadBytes: number
  readonly firstTs: bigint | null
  readonly lastTs: bigint | null
  readonly spanNs: bigint | null
  readonly checkpoints: number
  readonly lastCheckpoint: number | null
  /** 'forensic' (keeps every byte) unless live-mode gc has run on the guest */
  readonly retention: string
  readonly meta: Readonly<Record<string, string>>
}

export interface DiskFile { readonly name: string; readonly bytes: number; readonly allocated: number }

export interface JournalInfo {
  readonly guests: readonly GuestSummary[]
  readonly totals: { readonly guests: number; readonly events: number; readonly payloadBytes: number }
  /** the files of the journal directory: apparent size and blocks actually allocated */
  readonly disk: { readonly dir: string; readonly files: readonly DiskFile[]; readonly bytes: number; readonly allocated: number } | null
}

/** Journal files as the file system sees them (LMDB's file grows and reuses freed pages; it does not
 *  shrink; blob segments are removed once nothing refers to them), the segments as one entry. */
export const diskUsage = async (dir: string): Promise<NonNullable<JournalInfo['disk']>> => {
  const files: DiskFile[] = []
  for (const name of (await readdir(dir)).sort()) {
    const st = await stat(join(dir, name))
    if (st.isFile()) files.push({ name, bytes: st.size, allocated: st.blocks * 512 })
    else if (st.isDirectory() && name === BLOB_DIR) {
      const segments = await readdir(join(dir, name))
      let bytes = 0
      let allocated = 0
      for (const s of segments) {
        const sst = await stat(join(dir, name, s))
        bytes += sst.size
        allocated += sst.blocks * 512
      }
      files.push({ name: `${name}/ (${segments.length} segment${segments.length === 1 ? '' : 's'})`, bytes, allocated })
    }
  }
  return { dir, files, bytes: files.reduce((n, f) => n + f.bytes, 0), allocated: files.reduce((n, f) => n + f.allocated, 0) }
}

export const journalInfo = async (j: Journal, dir?: string): Promise<JournalInfo> => {
  const guests: GuestSummary[] = []
  for (const g of await j.guests()) {
    let checkpoints = 0
    let lastCheckpoint: number | null = null
    for (let at = g.events; at >= 0; ) {
      const cp = await j.checkpointAtOrBefore(g.guest, at)
      if (cp === undefined) break
      lastCheckpoint ??= cp.seq
      checkpoints++
      at = cp.seq - 1
    }
    guests.push({
      guest: g.guest, events: g.events, payloadBytes: g.payloadBytes, firstTs: g.firstTs, lastTs: g.lastTs,
      spanNs: g.firstTs === null || g.lastTs === null ? null : g.lastTs - g.firstTs,
      checkpoints, lastCheckpoint, retention: g.meta.retention ?? 'forensic', meta: g.meta,
    })
  }
  return {
    guests,
    totals: { guests: guests.length, events: guests.reduce((n, g) => n + g.events, 0), payloadBytes: guests.reduce((n, g) => n + g.payloadBytes, 0) },
    disk: dir === undefined ? null : await diskUsage(dir),
  }
}
