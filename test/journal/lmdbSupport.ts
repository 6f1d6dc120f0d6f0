// Temp journals for the LMDB tests, and a raw lmdb-js handle on their files for tampering.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, type Database, type Key, type RootDatabase } from 'lmdb'
import { openLmdbJournal, type LmdbJournalOptions } from '../../src/journal/lmdb.js'
import type { JournalUnderTest } from './conformance.js'

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'eyrie-journal-'))

export const lmdbJournal = async (opts: LmdbJournalOptions = {}, dir = tempDir()): Promise<JournalUnderTest & { dir: string }> => {
  const journal = await openLmdbJournal(dir, opts)
  const opened = [journal]
  return {
    dir,
    journal,
    reopen: async () => {
      const again = await openLmdbJournal(dir, opts)
      opened.push(again)
      return again
    },
    cleanup: async () => {
      for (const j of opened) await j.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The journal's databases opened directly, bypassing every check: what a bad disk or a bad tool does. */
export const withRawLmdb = async (dir: string, f: (dbs: { root: RootDatabase; db: (name: string) => Database<Buffer, Key> }) => void): Promise<void> => {
  const root = open(dir, { noSubdir: false, maxDbs: 8 })
  try {
    f({ root, db: (name) => root.openDB<Buffer, Key>(name, { encoding: 'binary', keyEncoding: 'ordered-binary' }) })
  } finally {
    await root.close()
  }
}
