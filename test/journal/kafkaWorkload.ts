// A deterministic guest workload for the Kafka tests (files created, written, renamed, unlinked; fds
// left open; now and then a write big enough to be chunked), and the answers compared between journals:
// what `eyrie at` shows (ls, fds, ps, files) and every file's bytes, at a given seq.
import { O_CREAT, O_EXCL, O_WRONLY, O_APPEND, type Body, type Draft } from '../../src/events/index.js'
import type { Journal } from '../../src/journal/journal.js'
import { worldAt } from '../../src/engine/replay.js'
import { materialize } from '../../src/engine/content.js'
import { contentPlan, fds, ls, openFiles, ps } from '../../src/projections/index.js'

/** Events number from..from+n-1 of guest `g`'s workload (the same for the same arguments). */
export const workload = (g: number, from: number, n: number, bigEvery = 0): Draft[] => {
  const out: Draft[] = []
  for (let i = from; i < from + n; i++) {
    const pid = 100 + g
    const file = `/data/g${g}/f${Math.floor(i / 8) % 13}`
    const fd = 3 + (Math.floor(i / 8) % 5)
    let body: Body
    let data: Uint8Array | undefined
    switch (i % 8) {
      case 0: body = { kind: 'fd.open', fd, path: file, flags: O_CREAT | O_EXCL | O_WRONLY | (i % 16 === 0 ? O_APPEND : 0), inode: null, created: true }; break
      case 1: case 2: case 3: {
        const size = bigEvery > 0 && i % bigEvery === 1 ? 40_000 + (i % 7) * 1000 : 10 + (i % 50)
        data = Buffer.alloc(size, `g${g}:${i};`)
        body = { kind: 'file.write', fd, offset: null, len: size, known: size }
        break
      }
      case 4: body = { kind: 'fd.seek', fd, pos: i % 17 }; break
      case 5: body = i % 3 === 0 ? { kind: 'file.rename', from: file, to: `${file}.old`, flags: 0 } : { kind: 'fd.read', fd, len: 4 }; break
      case 6: body = i % 5 === 0 ? { kind: 'file.unlink', path: `${file}.old` } : { kind: 'file.flush', fd }; break
      default: body = i % 4 === 3 ? { kind: 'fd.dup', fd, newFd: fd + 20, cloexec: false } : { kind: 'fd.close', fd }
    }
    out.push(data === undefined ? { ts: BigInt(i) * 1000n, pid, tid: pid, body } : { ts: BigInt(i) * 1000n, pid, tid: pid, body, data })
  }
  return out
}

/** What queries answer about a guest at seq, file bytes included, as one comparable value. */
export const answers = async (j: Journal, guest: string, seq: number): Promise<unknown> => {
  const w = await worldAt(j, guest, seq)
  const files: Record<string, string> = {}
  for (const entry of ls(w, '/').filter((e) => e.type === 'file')) {
    const plan = contentPlan(w, entry.path)
    if (!plan.ok) throw new Error(plan.reason)
    files[entry.path] = Buffer.from((await materialize(j, guest, plan.pieces)).bytes).toString('base64')
  }
  return { seq: w.seq, ls: ls(w, '/'), fds: fds(w), ps: ps(w), open: openFiles(w), files }
}
