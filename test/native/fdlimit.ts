// Run by record-start.test.ts under a low RLIMIT_NOFILE: starts a recording with 1, 2, ... free
// descriptors and prints, as JSON, what each start said and whether it left the table as it found it.
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs'
import { traceCommand } from '../../src/native/index.js'

const fill = (held: number[]): void => {
  for (;;) {
    try {
      held.push(openSync('/dev/null', 'r'))
    } catch {
      return
    }
  }
}
// the descriptors open now, each with what it is (a pipe left open is a new "N -> pipe:[...]"; one
// the runtime closes meanwhile is not a leak); a table that leaked into the freed room has none left
// for the listing
const openFds = (): string[] | 'none free' => {
  try {
    return readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`]
      } catch {
        return [] // the listing's own descriptor, closed by now
      }
    })
  } catch {
    return 'none free'
  }
}

await traceCommand(['true'], { onBatch: () => {} }) // what a first start opens for good (the addon, threads)
const held: number[] = []
fill(held)
const starts = []
for (let free = 1; free <= 5; free++) {
  for (const fd of held.splice(0, free)) closeSync(fd)
  const before = openFds()
  let message = 'started'
  try {
    await traceCommand(['true'], { onBatch: () => {} })
  } catch (e) {
    message = (e as Error).message
  }
  starts.push({ free, message, before, after: openFds() })
  fill(held)
}
console.log(JSON.stringify(starts))
