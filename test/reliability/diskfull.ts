// Disk full: the journal on a small tmpfs (we are root; unmounted in a finally) and a workload that
// writes far more than fits. Shared by diskfull.test.ts and bench/torture.ts.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import { worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan, ls } from '../../src/projections/index.js'
import { leftoversAfter, startRecorder, tempDir, type Leftover } from './support.js'

export interface DiskFull {
  readonly status: number | null
  readonly stderr: string
  readonly ms: number
  readonly leftovers: readonly Leftover[]
  /** the workload's last command ran (it should not have: the recording stopped) */
  readonly finished: boolean
  readonly lockLeft: boolean
  readonly committed: number
  readonly files: number
  /** files whose recorded bytes are not a prefix of the disk's (must be none) */
  readonly wrong: readonly string[]
  /** files with fewer bytes recorded than on disk (the one being written when the disk filled) */
  readonly short: readonly string[]
  /** run with the journal still on the full file system, after it was made larger */
  readonly journal: string
  readonly mount: string
  cleanup(): Promise<void>
}

export const diskFullRun = async (o: { sizeMiB?: number; writeMiB?: number } = {}): Promise<DiskFull> => {
  const { dir, cleanup } = await tempDir('diskfull')
  const mnt = join(dir, 'small')
  const work = join(dir, 'work')
  mkdirSync(mnt)
  mkdirSync(work)
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${o.sizeMiB ?? 4}m,mode=0755`, 'tmpfs', mnt])
  const unmount = async (): Promise<void> => {
    execFileSync('umount', ['-l', mnt])
    await cleanup()
  }
  try {
    const journal = join(mnt, 'journal')
    const count = Math.ceil(((o.writeMiB ?? 16) * 1024 * 1024) / 400_000)
    const workload = `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); head -c 400000 /dev/urandom > "big$i"; done; echo finished > done.txt`
    const rec = startRecorder({ journal, guest: 'full', cwd: work, argv: ['sh', '-c', workload] })
    const exit = await rec.exited
    const leftovers = await leftoversAfter(rec.tag)
    const j = await openLmdbJournal(journal, { readOnly: true })
    const wrong: string[] = []
    const short: string[] = []
    let committed = 0
    let files = 0
    try {
      committed = await j.lastSeq('full')
      const w = await worldAt(j, 'full', committed)
      for (const f of ls(w, work).filter((e) => e.type === 'file')) {
        files++
        const plan = contentPlan(w, f.path)
        if (!plan.ok) {
          wrong.push(`${f.path}: ${plan.reason}`)
          continue
        }
        const { bytes, unknown } = await materialize(j, 'full', plan.pieces)
        const disk = readFileSync(f.path)
        if (unknown.length > 0 || !disk.subarray(0, bytes.length).equals(bytes)) wrong.push(f.path)
        else if (disk.length !== bytes.length) short.push(`${f.path}: ${bytes.length} of ${disk.length} bytes`)
      }
    } finally {
      await j.close()
    }
    return {
      status: exit.status, stderr: exit.stderr, ms: exit.ms, leftovers, finished: existsSync(join(work, 'done.txt')),
      lockLeft: existsSync(join(journal, 'writer.lock')), committed, files, wrong, short, journal, mount: mnt, cleanup: unmount,
    }
  } catch (err) {
    await unmount()
    throw err
  }
}
