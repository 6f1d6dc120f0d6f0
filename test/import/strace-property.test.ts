// Properties: well-formed lines written from random process histories parse back to exactly the
// drafts that produced them; mangled lines never make the parser throw.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeBody } from '../../src/events/index.js'
import { StraceParser, type ParsedLine } from '../../src/import/strace/index.js'
import { parseAll } from './strace-support.js'
import { render, scenarioArb } from './strace-model.js'
import { runs } from '../support/runs.js'

test('given lines written from random drafts, when parsed, then the same drafts come back in order', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      const { lines, drafts } = render(scenario, '/w')
      const out = await parseAll(lines, '/w')
      const errors = out.flatMap((p) => ('error' in p ? [`${p.line}: ${p.error} in ${lines[p.line - 1]}`] : []))
      assert.deepEqual(errors, [])
      assert.deepEqual(out.flatMap((p) => ('drafts' in p ? p.drafts : [])), drafts)
    }),
    { numRuns: runs(300) },
  )
})

const MANGLERS = ['"', '\\', '(', ')', '[', ']', '{', '}', '<', '>', ',', '=', ' ', '...', '\\x', '-1', '?', '0x', '+++', '---', '<unfinished ...>', '<... write resumed>', '\n', 'é']

const mutation = fc.record({
  line: fc.nat(),
  at: fc.nat(),
  kind: fc.constantFrom('cut', 'delete', 'insert', 'duplicate', 'swap'),
  width: fc.integer({ min: 1, max: 12 }),
  text: fc.oneof(fc.constantFrom(...MANGLERS), fc.string({ maxLength: 4 })),
})

const mangle = (lines: string[], muts: Array<typeof mutation extends fc.Arbitrary<infer M> ? M : never>): string[] => {
  const out = [...lines]
  for (const m of muts) {
    if (out.length === 0) break
    const i = m.line % out.length
    const s = out[i]
    const at = s.length === 0 ? 0 : m.at % s.length
    if (m.kind === 'cut') out[i] = s.slice(0, at)
    else if (m.kind === 'delete') out[i] = s.slice(0, at) + s.slice(at + m.width)
    else if (m.kind === 'insert') out[i] = s.slice(0, at) + m.text + s.slice(at)
    else if (m.kind === 'duplicate') out.splice(i, 0, s)
    else [out[i], out[(i + 1) % out.length]] = [out[(i + 1) % out.length], out[i]]
  }
  return out
}

test('given mangled lines, when parsed, then nothing throws, every line yields at most one outcome and every draft is a valid event', async () => {
  await fc.assert(
    fc.property(scenarioArb, fc.array(mutation, { minLength: 1, maxLength: 6 }), (scenario, muts) => {
      const lines = mangle(render(scenario, '/w').lines, muts)
      const parser = new StraceParser({ cwd: '/w' })
      const out: ParsedLine[] = []
      lines.forEach((text, i) => out.push(...parser.feed(i + 1, text)))
      out.push(...parser.end())
      const seen = new Set<number>()
      for (const p of out) {
        assert.ok(!seen.has(p.line), `line ${p.line} yielded twice`)
        seen.add(p.line)
        if ('error' in p) {
          assert.ok(p.error.length > 0 && !p.error.includes('\n'), 'an error is one readable line')
          continue
        }
        for (const d of p.drafts) {
          const decoded = decodeBody(d.body)
          assert.ok(decoded._tag === 'Right', `invalid draft from line ${p.line}: ${decoded._tag === 'Left' ? decoded.left : ''}`)
          const known = 'known' in d.body ? d.body.known : 0
          assert.equal(d.data?.length ?? 0, known)
        }
      }
    }),
    { numRuns: runs(500) },
  )
})
