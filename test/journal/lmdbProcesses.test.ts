// LMDB is multi-process: another process reads what this one committed, while it keeps writing, and
// never sees half a batch. A second writing process is refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Draft } from '../../src/events/index.js'
import { lmdbJournal } from './lmdbSupport.js'

const repo = join(import.meta.dirname, '..', '..')
const lmdbModule = join(repo, 'src', 'journal', 'lmdb.ts')
const nodeArgs = (code: string): string[] => ['--import', 'tsx', '--input-type=module', '-e', code]

/** Runs a module snippet in a fresh node process; resolves with its last stdout line parsed as JSON. */
const runNode = async (code: string): Promise<unknown> => {
  const { stdout } = await promisify(execFile)(process.execPath, nodeArgs(code), { cwd: repo, timeout: 30_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null')
}

const seeks = (n: number, base: number): Draft[] => Array.from({ length: n }, (_, i) => ({ ts: BigInt(base + i), pid: 1, tid: 1, body: { kind: 'fd.seek', fd: 3, pos: i } }))

const readerSnippet = (dir: string): string => `
  const { openLmdbJournal } = await import(${JSON.stringify(lmdbModule)})
  const j = await openLmdbJournal(${JSON.stringify(dir)}, { readOnly: true })
  let count = 0
  for await (const batch of j.read('g', 1, Number.MAX_SAFE_INTEGER)) count += batch.length
  const payload = Buffer.from(await j.payload('g', 2)).toString()
  const guests = (await j.guests()).map((g) => [g.guest, g.events])
  console.log(JSON.stringify({ last: await j.lastSeq('g'), count, payload, guests }))
  await j.close()
`

test('given a writer that has committed and stays open, when another process opens the journal read-only, then it reads everything committed so far', async () => {
  const sut = await lmdbJournal()
  try {
    const j = sut.journal
    await j.append('g', [...seeks(1, 0), { ts: 1n, pid: 1, tid: 1, body: { kind: 'file.write', fd: 3, offset: 0, len: 5, known: 5 }, data: Buffer.from('bytes') }, ...seeks(98, 2)]).committed
    assert.deepEqual(await runNode(readerSnippet(sut.dir)), { last: 100, count: 100, payload: 'bytes', guests: [['g', 100]] })
    await j.append('g', seeks(50, 100)).committed
    await j.append('h', seeks(1, 0)).committed
    assert.deepEqual(await runNode(readerSnippet(sut.dir)), { last: 150, count: 150, payload: 'bytes', guests: [['g', 150], ['h', 1]] })
  } finally {
    await sut.cleanup()
  }
})

test('given a reader process polling while batches of 500 are appended, when it reads, then it only ever sees whole batches', async () => {
  const sut = await lmdbJournal()
  const batches = 20
  const size = 500
  try {
    const child = spawn(process.execPath, nodeArgs(`
      const { openLmdbJournal } = await import(${JSON.stringify(lmdbModule)})
      const j = await openLmdbJournal(${JSON.stringify(sut.dir)}, { readOnly: true })
      const seen = new Set(), torn = []
      console.log('ready')
      const deadline = Date.now() + 20000
      for (;;) {
        let count = 0, dense = true
        for await (const batch of j.read('g', 1, Number.MAX_SAFE_INTEGER)) for (const e of batch) dense &&= e.seq === ++count
        seen.add(count)
        if (count % ${size} !== 0 || !dense) torn.push(count)
        if (count === ${batches * size} || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 1))
      }
      console.log(JSON.stringify({ seen: seen.size, torn, final: [...seen].at(-1) }))
      await j.close()
    `), { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('ready')) resolve()
    }))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await ready
    for (let b = 0; b < batches; b++) {
      await sut.journal.append('g', seeks(size, b * size)).committed
      await new Promise((r) => setTimeout(r, 3))
    }
    assert.equal(await exited, 0)
    const report: unknown = JSON.parse(out.trim().split('\n').at(-1) ?? '{}')
    assert.ok(typeof report === 'object' && report !== null, out)
    assert.deepEqual(Reflect.get(report, 'torn'), [], 'counts that are not a whole number of batches')
    assert.equal(Reflect.get(report, 'final'), batches * size)
    const seen: unknown = Reflect.get(report, 'seen')
    assert.ok(typeof seen === 'number' && seen > 2, `the reader saw ${String(seen)} distinct states`)
  } finally {
    await sut.cleanup()
  }
})

test('given a journal open for writing here, when another process opens it for writing, then it is refused with this pid', async () => {
  const sut = await lmdbJournal()
  try {
    const result = await runNode(`
      const { openLmdbJournal } = await import(${JSON.stringify(lmdbModule)})
      try {
        await openLmdbJournal(${JSON.stringify(sut.dir)})
        console.log(JSON.stringify('opened'))
      } catch (e) {
        console.log(JSON.stringify([e.code, e.message]))
      }
    `)
    assert.deepEqual(result, ['USAGE', `journal ${sut.dir} is open for writing by process ${process.pid}`])
  } finally {
    await sut.cleanup()
  }
})
