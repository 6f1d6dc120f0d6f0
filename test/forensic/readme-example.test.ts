// The README's library example is examples/replay-projection.ts, verbatim, and it runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const EXAMPLE = 'examples/replay-projection.ts'

test('given the README, its library example is the example file, byte for byte', async () => {
  const readme = await readFile(`${ROOT}README.md`, 'utf8')
  const block = new RegExp(`<!-- example: ${EXAMPLE.replace('.', '\\.')} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme)
  assert.ok(block !== null, `README has a ts block after the ${EXAMPLE} marker`)
  assert.equal(block[1], await readFile(`${ROOT}${EXAMPLE}`, 'utf8'))
})

test('given the example, when run as a user would (imports from eyrie and eyrie/testing), then its story, its property and its replays succeed', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', EXAMPLE], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^ok: given make running, when cc writes an object file, then cc is charged 6 bytes and make none\n/)
  assert.match(r.stdout, /\nok: every byte written is charged to some program\n/)
  assert.match(r.stdout, /\nat #\d+, from checkpoint #[1-9]\d*: \[/)
})
