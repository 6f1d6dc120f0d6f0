// What a private clamd leaves behind when its eyrie is killed outright (SIGKILL, the OOM killer): no
// exit handler runs, clamd itself goes (its parent-death signal), but its run directory in $TMPDIR
// (a copy of the signature databases: ~300 MB of official ones) and its scratch directory in
// /dev/shm (memory) stay. Each names its owner, pid and start time; the next private clamd removes
// those whose owner is gone.
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { procStat, startTimeIn } from '../native/procStat.js'
import { reasonOf } from './errors.js'

export const RUN_DIR_PREFIX = 'eyrie-clamd-'
const OWNER = 'owner'
/** a directory without an owner file is left this long: its eyrie may be about to write it */
const UNCLAIMED_MS = 3600_000

/** The process's start time (clock ticks since boot); null: no such process. */
const startTime = (pid: number): string | null => {
  const fields = procStat(pid)
  return fields === null ? null : startTimeIn(fields)
}

/** Marks `dir` as this process's. */
export const claim = (dir: string): Promise<void> => writeFile(join(dir, OWNER), `${process.pid} ${startTime(process.pid)}\n`, { mode: 0o600 })

/** Removes this user's run directories in `parent` whose owner is no longer running; returns them.
 *  Never throws: what cannot be removed is reported as a warning and left. */
export const sweep = async (parent: string, now = Date.now()): Promise<string[]> => {
  let names: string[]
  try {
    names = (await readdir(parent)).filter((n) => n.startsWith(RUN_DIR_PREFIX))
  } catch {
    return [] // no such directory (no /dev/shm): nothing was left there
  }
  const uid = process.geteuid?.()
  const removed: string[] = []
  for (const name of names) {
    const dir = join(parent, name)
    try {
      const st = await lstat(dir)
      if (!st.isDirectory() || st.uid !== uid) continue
      const owner = await readFile(join(dir, OWNER), 'utf8').catch(() => null)
      if (owner === null) {
        if (now - st.mtimeMs < UNCLAIMED_MS) continue
      } else {
        const [pid, started] = owner.trim().split(' ')
        if (startTime(Number(pid)) === started) continue
      }
      await rm(dir, { recursive: true, force: true })
      removed.push(dir)
    } catch (err) {
      process.emitWarning(`${dir}: cannot remove what an earlier private clamd left: ${reasonOf(err)}`, { code: 'EYRIE_CLAMD_LEFTOVER' })
    }
  }
  return removed
}
