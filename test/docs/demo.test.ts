// `npm run demo` is the README's first command on a fresh machine: it must run, and answer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testEnv } from '../support/cli.js'
import { tempDir } from '../support/e2e.js'

test('given the demo on a journal of its own, it records its workload and answers: the first write\'s content, the names after the rename, the tar made, the processes', async () => {
  const dir = await tempDir('demo')
  try {
    const script = fileURLToPath(new URL('../../scripts/demo.sh', import.meta.url))
    const r = spawnSync('bash', [script], { env: { ...testEnv(), EYRIE_JOURNAL: join(dir, 'journal') }, encoding: 'utf8', timeout: 120_000 })
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /cat report\.txt {3}\(just after its first write\)\ndraft 1\n/)
    assert.match(r.stdout, /\(just after the rename\)[\s\S]*final\.txt[\s\S]*== eyrie at end ls/)
    assert.match(r.stdout, /tar tv\n\S+ root\/root +13 [^\n]* final\.txt\n/)
    assert.match(r.stdout, /\/usr\/bin\/dd +│ dd of=final\.txt/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
