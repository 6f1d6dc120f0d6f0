// Support for shared-view tests: run the view driver step by step under the native interceptor
// (it waits on a FIFO after each step), so a test can act on the live trace between steps.
import { execFileSync } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { materialize } from '../../src/engine/content.js'
import { Ingest } from '../../src/engine/replay.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Journal } from '../../src/journal/journal.js'
import { recordCommand, type Tracing } from '../../src/native/index.js'
import { contentPlan } from '../../src/projections/index.js'
import { tempDir } from './e2e.js'

export interface Pause {
  readonly dir: string
  readonly tracing: Tracing
  readonly ingest: Ingest
  readonly journal: Journal
  /** The step the driver has just finished. */
  readonly step: number
}

/** content(path, now) from the live world of an Ingest; throws when a byte is unknown. */
export const liveContent = async (ingest: Ingest, journal: Journal, path: string): Promise<Buffer> => {
  const plan = contentPlan(ingest.now, path)
  if (!plan.ok) throw new Error(plan.reason)
  const { bytes, unknown } = await materialize(journal, ingest.guest, plan.pieces)
  if (unknown.length > 0) throw new Error(`${path}: unknown bytes now: ${JSON.stringify(unknown)}`)
  return bytes
}

/** Runs the driver under the native interceptor; `each` runs after every step, the driver waiting. */
export const recordPausing = async (driver: string, steps: readonly object[], each: (p: Pause) => Promise<void>): Promise<void> => {
  const dir = await tempDir('views')
  const jdir = await tempDir('journal')
  const journal = await openLmdbJournal(jdir)
  const go = join(dir, 'go.fifo')
  const ready = join(dir, 'ready.fifo')
  execFileSync('mkfifo', [go, ready])
  const quiet = openSync('/dev/null', 'w') // the driver's report lines: the FIFO carries what matters
  try {
    const ingest = await Ingest.open(journal, 'views')
    const tracing = recordCommand(['/usr/bin/python3', driver, JSON.stringify(steps), '--pause', go, ready], {
      cwd: dir,
      onBatch: (drafts) => ingest.push(drafts),
      stdio: { stdin: 0, stdout: quiet, stderr: 2 },
    })
    const failed = tracing.done.then((r) => {
      throw new Error(`the driver ended early: status ${r.status ?? r.signal}`)
    })
    failed.catch(() => undefined) // raced below while steps remain; ending after the last is normal
    for (let k = 0; k < steps.length; k++) {
      const line = await Promise.race([readFile(ready, 'utf8'), failed])
      assert(Number(line.trim()) === k, `driver reported step ${line.trim()}, expected ${k}`)
      await each({ dir, tracing, ingest, journal, step: k })
      await writeFile(go, 'go\n')
    }
    const result = await tracing.done
    if (result.status !== 0) throw new Error(`the driver exited ${result.status ?? result.signal}`)
    await ingest.finish()
  } finally {
    closeSync(quiet)
    await journal.close()
    await Promise.all([dir, jdir].map((p) => rm(p, { recursive: true, force: true })))
  }
}

function assert(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message)
}
