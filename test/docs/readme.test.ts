// The README's commands are the contract with a newcomer: keep them true to the code.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { STRACE_CALLS } from '../../src/import/strace/index.js'

const readme = () => readFile(new URL('../../README.md', import.meta.url), 'utf8')

test('given the README, its strace line traces exactly the calls the importer understands', async () => {
  const m = /-e trace=([a-z0-9_,]+)/.exec(await readme())
  assert.ok(m, 'README shows the strace line')
  assert.deepEqual(m[1].split(','), [...STRACE_CALLS])
})

test('given the README, its two fresh-machine commands are the setup + demo and the test command that .ci/run runs', async () => {
  const text = await readme()
  assert.match(text, /bash scripts\/setup\.sh && npm run demo/)
  assert.match(text, /^npm test\b/m)
  const ci = await readFile(new URL('../../.ci/run', import.meta.url), 'utf8')
  assert.match(ci, /bash scripts\/setup\.sh\nnpm test\n/)
})
