// A CheckpointStore on disk: one LMDB environment of its own (not the journal's: the journal's
// checkpoints hold eyrie's world, and a user's projection has its own life cycle).
import { open, type Database, type RootDatabase } from 'lmdb'
import type { CheckpointStore } from './replay.js'

export interface LmdbCheckpoints extends CheckpointStore {
  close(): Promise<void>
}

export const lmdbCheckpoints = (dir: string): LmdbCheckpoints => {
  const root: RootDatabase = open(dir, { noSubdir: false, maxDbs: 2 })
  const db: Database<Uint8Array, [string, number]> = root.openDB('checkpoints', { encoding: 'binary', keyEncoding: 'ordered-binary' })
  return {
    async atOrBefore(key, seq) {
      for (const { key: k, value } of db.getRange({ start: [key, seq], end: [key], reverse: true, limit: 1 })) return { seq: k[1], bytes: value }
      return undefined
    },
    async put(key, seq, bytes) {
      await db.put([key, seq], bytes)
    },
    close: () => root.close(),
  }
}
