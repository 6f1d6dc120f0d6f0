// The decision hook: the tracee waits for JavaScript's verdict, and a deny is the errno it sees.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { constants } from 'node:os'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import type { DecisionRequest } from '../../src/native/index.js'
import { ofKind, record, tempDir, text } from './support.js'

const { EACCES, EPERM } = constants.errno

test('given decide denies /usr/bin/true with EACCES, when sh runs it, then sh reports Permission denied and status 126', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const asked: DecisionRequest[] = []
    const { drafts, result, stdout, stderr } = await record(['sh', '-c', '/bin/true; echo $?'], dir, {
      decide: async (req) => {
        asked.push(req)
        return req.path === '/usr/bin/true' ? EACCES : 0
      },
    })
    assert.equal(result.status, 0)
    assert.equal(stdout, '126\n')
    assert.match(stderr, /\/bin\/true: Permission denied/)
    assert.deepEqual(asked.map((r) => [r.call, r.path]), [['execve', '/usr/bin/dash'], ['execve', '/usr/bin/true']])
    assert.equal(asked[1].pid, ofKind(drafts, 'proc.spawn')[0].body.child)
    assert.deepEqual(ofKind(drafts, 'access.denied').map((d) => [d.body.call, d.body.path, d.body.errno]), [['execve', '/usr/bin/true', EACCES]])
    assert.deepEqual(ofKind(drafts, 'proc.exec').map((d) => d.body.path), ['/usr/bin/dash'])
  } finally {
    await cleanup()
  }
})

test('given decideOpens, when cat opens a denied file, then it fails with that errno, and every earlier draft reached onBatch before the question', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await writeFile(join(dir, 'secret'), 'x')
    await writeFile(join(dir, 'public'), 'y')
    const received: Draft[] = []
    let seenAtQuestion = -1
    const { drafts, result, stdout, stderr } = await record(['cat', 'public', 'secret'], dir, {
      decideOpens: true,
      onBatch: (batch) => {
        received.push(...batch)
      },
      decide: async (req) => {
        if (!req.path.endsWith('/secret')) return 0
        seenAtQuestion = received.length
        return EPERM
      },
    })
    assert.equal(result.status, 1)
    assert.equal(stdout, 'y')
    assert.match(stderr, /secret: Operation not permitted/)
    const opened = ofKind(drafts, 'fd.open').map((d) => d.body.path)
    assert.ok(opened.includes(join(dir, 'public')) && !opened.includes(join(dir, 'secret')))
    // the open of public and the write of its byte (read back from cat's stdout file at the open of
    // secret) came before the question about secret
    const publicWrite = drafts.findIndex((d) => d.body.kind === 'file.sync' && text(d) === 'y')
    assert.ok(publicWrite >= 0 && publicWrite < seenAtQuestion, `${publicWrite} < ${seenAtQuestion}`)
    assert.equal(drafts[seenAtQuestion].body.kind, 'access.denied')
  } finally {
    await cleanup()
  }
})

test('given decideOpens, when ls lists a directory (opendir: O_DIRECTORY), then the directory is not asked about and the file read is', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await writeFile(join(dir, 'f'), 'z')
    const asked: DecisionRequest[] = []
    const { result } = await record(['sh', '-c', 'ls -a . > /dev/null && cat f > /dev/null'], dir, {
      decideOpens: true,
      decide: async (req) => {
        asked.push(req)
        return 0
      },
    })
    assert.equal(result.status, 0)
    const opens = asked.filter((r) => r.call !== 'execve').map((r) => r.path)
    assert.ok(opens.includes(join(dir, 'f')), `f asked: ${opens.join(', ')}`)
    assert.ok(!opens.includes(dir), `the directory was asked about: ${opens.join(', ')}`)
  } finally {
    await cleanup()
  }
})

test('given foresee and a slow consumer, when sh runs a program, then the question is foreseen while earlier batches are still being handled, and decided after the batch ahead of it', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const log: string[] = []
    const { result } = await record(['sh', '-c', 'echo hi > out; /bin/true'], dir, {
      batchMs: 1, // batches go while sh runs, each taking onBatch a while
      onBatch: async () => {
        log.push('batch')
        await new Promise((r) => setTimeout(r, 100))
        log.push('batch done')
      },
      foresee: (req) => {
        log.push(`foresee ${req.call} ${req.path}`)
      },
      decide: async (req) => {
        log.push(`decide ${req.call} ${req.path}`)
        return 0
      },
    })
    assert.equal(result.status, 0)
    const foreseen = log.indexOf('foresee execve /usr/bin/true')
    const decided = log.indexOf('decide execve /usr/bin/true')
    assert.ok(foreseen >= 0 && decided > foreseen, log.join(', '))
    // told at once, not behind the batches before it: one of them was being handled then
    const before = log.slice(0, foreseen)
    assert.ok(before.filter((l) => l === 'batch').length > before.filter((l) => l === 'batch done').length, log.join(', '))
    // the batch ahead of the question (sh's write of out) went to onBatch before the question
    assert.ok(log.slice(foreseen + 1, decided).includes('batch'), log.join(', '))
  } finally {
    await cleanup()
  }
})
