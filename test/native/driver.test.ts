// Random file workloads run for real by test/native/driver.c under traceCommand: every step that
// succeeded is the drafts it should be, in order, by the task that did it; and tracing changes
// nothing the program sees (same results, same file contents as an untraced run).
//
// For the byte-exact oracle: the traced run uses `-n` (no hashing, whose reads would be traced) and
// writes its reports to a regular file, so each "STEP n" report is a file.write draft on fd 1 that
// marks where step n ends in the stream; the untraced run prints the sha256 of every file at each step.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import type { Draft } from '../../src/events/index.js'
import { compile, record, run, tempDir, text } from './support.js'
import { runs } from '../support/runs.js'

const slot = fc.constantFrom('a', 'b', 'c')
const path = fc.constantFrom('f1', 'f2', 'f3')
const hex = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'))
const small = fc.integer({ min: 0, max: 16 })
const flags = fc
  .tuple(fc.constantFrom('r', 'w', 'rw', 'rw'), fc.subarray(['creat', 'creat', 'excl', 'trunc', 'append']))
  .map(([mode, rest]) => [mode, ...new Set(rest)].join(','))

const simpleStep = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(slot, path, flags).map(([s, p, f]) => `open ${s} ${p} ${f}`) },
  { weight: 2, arbitrary: slot.map((s) => `close ${s}`) },
  { weight: 4, arbitrary: fc.tuple(slot, hex).map(([s, h]) => `write ${s} ${h}`) },
  { weight: 2, arbitrary: fc.tuple(slot, small, hex).map(([s, o, h]) => `pwrite ${s} ${o} ${h}`) },
  { weight: 2, arbitrary: fc.tuple(slot, fc.array(hex, { minLength: 1, maxLength: 3 })).map(([s, hs]) => `writev ${s} ${hs.join(' ')}`) },
  { weight: 2, arbitrary: fc.tuple(slot, small, fc.constantFrom('set', 'cur', 'end')).map(([s, o, w]) => `lseek ${s} ${o} ${w}`) },
  { weight: 2, arbitrary: fc.tuple(slot, fc.integer({ min: 1, max: 16 })).map(([s, n]) => `read ${s} ${n}`) },
  { weight: 1, arbitrary: fc.tuple(slot, small).map(([s, n]) => `ftruncate ${s} ${n}`) },
  { weight: 1, arbitrary: fc.tuple(path, path).map(([a, b]) => `rename ${a} ${b}`) },
  { weight: 1, arbitrary: path.map((p) => `unlink ${p}`) },
  { weight: 1, arbitrary: fc.tuple(slot, slot).map(([s, t]) => `dup ${s} ${t}`) },
  { weight: 1, arbitrary: fc.tuple(slot, slot, fc.integer({ min: 20, max: 22 })).map(([s, t, fd]) => `dup2 ${s} ${t} ${fd}`) },
)
const block = fc
  .tuple(fc.constantFrom('fork', 'thread'), fc.array(simpleStep, { maxLength: 4 }))
  .map(([kind, inner]) => [kind, ...inner, 'end'])
const steps = fc
  .array(fc.oneof({ weight: 6, arbitrary: simpleStep.map((s) => [s]) }, { weight: 1, arbitrary: block }), { minLength: 1, maxLength: 20 })
  .map((groups) => groups.flat())

interface Report {
  readonly n: number
  readonly name: string
  readonly ret: number
  readonly errno: number
  readonly hashes: string[]
}

const parseReports = (out: string): Report[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('STEP '))
    .map((l) => {
      const [, n, name, ret, errno, ...hashes] = l.split(' ')
      return { n: Number(n), name, ret: Number(ret), errno: Number(errno), hashes }
    })

/** The draft kinds the steps should have caused, in order, given what each step returned. */
const expectedKinds = (list: readonly string[], reports: ReadonlyMap<number, Report>): string[] => {
  const out: string[] = []
  const walk = (from: number, to: number, slots: Map<string, number>): void => {
    for (let i = from; i < to; i++) {
      const w = list[i].split(' ')
      const r = reports.get(i + 1)
      if (r === undefined) throw new Error(`no report for step ${i + 1}: ${list[i]}`)
      const ok = r.ret >= 0
      switch (w[0]) {
        case 'fork':
        case 'thread': {
          let depth = 0
          let end = i
          for (; end < list.length; end++) {
            if (list[end] === 'fork' || list[end] === 'thread') depth++
            else if (list[end] === 'end' && --depth === 0) break
          }
          if (ok) {
            out.push('proc.spawn')
            // a child works on copies of the slots; a thread on the same ones
            walk(i + 1, end + 1, w[0] === 'fork' ? new Map(slots) : slots)
            out.push('proc.exit')
          }
          i = end
          break
        }
        case 'open':
        case 'dup':
          if (ok) {
            out.push(w[0] === 'open' ? 'fd.open' : 'fd.dup')
            slots.set(w[0] === 'open' ? w[1] : w[2], r.ret)
          }
          break
        case 'dup2':
          if (ok) {
            if (slots.get(w[1]) !== r.ret) out.push('fd.dup') // dup2(fd, fd) changes nothing
            slots.set(w[2], r.ret)
          }
          break
        case 'close':
          if (ok) out.push('fd.close')
          slots.delete(w[1])
          break
        case 'write':
        case 'pwrite':
        case 'writev': if (ok) out.push('file.write'); break
        // lseek(fd, 0, SEEK_CUR) only asks for the position: the filter does not stop at it
        case 'lseek': if (ok && !(w[2] === '0' && w[3] === 'cur')) out.push('fd.seek'); break
        case 'read': if (r.ret > 0) out.push('fd.read'); break
        case 'ftruncate': if (ok) out.push('file.truncate'); break
        case 'rename': if (ok) out.push('file.rename'); break
        case 'unlink': if (ok) out.push('file.unlink'); break
        case 'end': break
        default: throw new Error(`unknown step ${list[i]}`)
      }
    }
  }
  walk(0, list.length, new Map())
  return out
}

const isMarker = (d: Draft): boolean => d.body.kind === 'file.write' && d.body.fd === 1
/** Draft kinds between the driver's BEGIN and its last report, without the markers themselves and
 *  without what the steps do not decide (mappings of thread stacks, observations of old bytes). */
const stepKinds = (drafts: readonly Draft[]): string[] => {
  const begin = drafts.findIndex((d) => isMarker(d) && text(d) === 'BEGIN\n')
  const last = drafts.length - 1 - [...drafts].reverse().findIndex(isMarker)
  return drafts
    .slice(begin + 1, last)
    .filter((d) => !isMarker(d) && !d.body.kind.startsWith('view.') && d.body.kind !== 'file.observe')
    .map((d) => d.body.kind)
}

const sha256 = async (file: string): Promise<string> => {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex')
  } catch {
    return '-'
  }
}

test('given random file workloads run by the driver, then the drafts match the steps that succeeded and the run matches an untraced one', async () => {
  const driver = await compile('driver')
  await fc.assert(
    fc.asyncProperty(steps, async (list) => {
      const traced = await tempDir()
      const plain = await tempDir()
      try {
        const { drafts, result, stdout } = await record([driver, '-n', ...list], traced.dir, { writes: 'stop' })
        assert.equal(result.status, 0)
        const reports = parseReports(stdout)
        const kinds = stepKinds(drafts)
        assert.deepEqual(kinds, expectedKinds(list, new Map(reports.map((r) => [r.n, r]))))

        // every report is a marker draft, in the order the reports were written
        assert.deepEqual(drafts.filter(isMarker).map(text).join(''), stdout)

        const untraced = parseReports((await run(driver, list, { cwd: plain.dir })).stdout)
        assert.deepEqual(reports.map((r) => [r.n, r.name, r.ret, r.errno]), untraced.map((r) => [r.n, r.name, r.ret, r.errno]))
        const final = untraced[untraced.length - 1].hashes
        const names = final.map((h) => h.slice(0, h.indexOf('=')))
        const now = await Promise.all(names.map(async (n) => `${n}=${await sha256(join(traced.dir, n))}`))
        assert.deepEqual(now, final)
      } finally {
        await traced.cleanup()
        await plain.cleanup()
      }
    }),
    { numRuns: runs(25) },
  )
})
