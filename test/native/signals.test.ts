// Signals reach the traced program as they would without eyrie: handled, stopping and continuing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { record, tempDir } from './support.js'

test('given a program that signals itself and handles it, then the handler runs and the program goes on', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const { result, stdout } = await record(['sh', '-c', 'trap "echo got" USR1; kill -USR1 $$; echo done'], dir)
    assert.equal(result.status, 0)
    assert.equal(stdout, 'got\ndone\n')
  } finally {
    await cleanup()
  }
})

test('given a child stopped with SIGSTOP, then it stays stopped until SIGCONT and then finishes', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const script = 'sleep 0.3 & p=$!; kill -STOP $p; sleep 0.5; grep State /proc/$p/status; kill -CONT $p; wait $p; echo "exit $?"'
    const started = Date.now()
    const { result, stdout } = await record(['sh', '-c', script], dir)
    assert.equal(result.status, 0)
    // stopped (T; t while eyrie listens for it to continue), and still there after its 0.3 s
    assert.match(stdout, /^State:\s+[tT] \((stopped|tracing stop)\)\nexit 0\n$/)
    assert.ok(Date.now() - started >= 500)
  } finally {
    await cleanup()
  }
})
