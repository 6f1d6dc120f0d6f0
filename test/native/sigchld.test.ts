// A tracee's ptrace stops must not wake this process's JavaScript thread: with a SIGCHLD handler
// installed (Node has one once it spawned a child, such as a private clamd), each stop raised a
// signal and a waitpid() round on the event loop while the tracees waited for the CPU.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { record, tempDir } from './support.js'

test('given a SIGCHLD listener in this process, when a traced program makes thousands of stops, then SIGCHLD comes for exits, not for each stop', async () => {
  const { dir, cleanup } = await tempDir()
  let signals = 0
  const count = () => void signals++
  process.on('SIGCHLD', count)
  try {
    // 2,000 writable opens and closes: at least 4,000 stops of one process (each raised a SIGCHLD
    // before; now a constant few come, ~40 for python's start whatever the loop's length)
    const { result, drafts } = await record(['python3', '-c', 'import os\nfor i in range(2000): os.close(os.open("f", os.O_WRONLY | os.O_CREAT))'], dir)
    assert.equal(result.status, 0)
    assert.ok(drafts.filter((d) => d.body.kind === 'fd.open').length >= 2000)
    await new Promise((r) => setTimeout(r, 50)) // let a pending signal reach the listener
    assert.ok(signals < 100, `${signals} SIGCHLD for one process's stops`)
  } finally {
    process.off('SIGCHLD', count)
    await cleanup()
  }
})
