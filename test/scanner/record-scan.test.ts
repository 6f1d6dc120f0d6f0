// eyrie record --scan end to end: a real clamd, the native interceptor, real programs. Infected content
// that exists only as the guest wrote it (never fsynced) is denied before exec/open, quarantined, and
// every decision is journaled; clean programs run; a dead clamd fails exec closed without hanging.
import { test } from 'node:test'
import { spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { SIGNATURES, MARKER, eicar, tmp } from './support.js'

const logKinds = (journal: string, kind: string) =>
  eyrie(['log', '--kind', kind, '--json'], { journal }).stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

test('given a script the guest writes with the marker (never flushed), it is judged at close: quarantined before anyone can run it, every decision journaled; a clean script runs', async () => {
  const dir = await tmp('record-scan')
  const journal = join(dir, 'journal')
  const script = [
    "printf '#!/bin/sh\\necho clean-ran\\n' > ok.sh; chmod +x ok.sh; ./ok.sh",
    `printf '#!/bin/sh\\necho %s\\n' '${MARKER}' > bad.sh; ./bad.sh; echo "bad-exit=$?"`,
  ].join('; ')
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', script], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /clean-ran/)
  assert.doesNotMatch(r.stdout, new RegExp(MARKER))
  assert.match(r.stdout, /bad-exit=127/)
  assert.equal(existsSync(join(dir, 'bad.sh')), false, 'moved to quarantine')
  const verdicts = logKinds(journal, 'scan.verdict')
  assert.ok(verdicts.some((v) => v.verdict === 'infected' && v.path === join(dir, 'bad.sh') && v.trigger === 'close'))
  assert.ok(verdicts.some((v) => v.verdict === 'clean' && v.path === join(dir, 'ok.sh')))
  const quarantined = logKinds(journal, 'file.quarantine')
  assert.equal(quarantined.length, 1)
  assert.equal(quarantined[0].path, join(dir, 'bad.sh'))
  const q = JSON.parse(eyrie(['quarantine', 'list', '--json'], { journal }).stdout)
  assert.equal(q.records.length, 1)
})

test('given an infected script that existed before recording, when the guest execs it, the exec fails with EACCES and the denial is journaled', async () => {
  const dir = await tmp('record-scan-exec')
  const journal = join(dir, 'journal')
  await writeFile(join(dir, 'old.sh'), `#!/bin/sh\necho ${MARKER}\n`, { mode: 0o755 })
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', './old.sh; echo "exit=$?"'], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /exit=126/)
  assert.match(r.stderr, /Permission denied/)
  assert.doesNotMatch(r.stdout, new RegExp(MARKER))
  const denied = logKinds(journal, 'access.denied')
  // one exec, one denial: the gate journals it (with the verdict), the tracer not a second time
  assert.equal(denied.length, 1, JSON.stringify(denied))
  for (const d of denied) assert.deepEqual([d.path, d.errno], [join(dir, 'old.sh'), 13])
  assert.ok(denied.some((d) => d.call.startsWith('execve')), 'the exec itself was denied')
  assert.equal(existsSync(join(dir, 'old.sh')), false, 'quarantined')
})

test('given an infected script that cannot be moved (immutable), its exec is still denied and one line on stderr says why it stays', async (t) => {
  const dir = await tmp('record-scan-stuck')
  const journal = join(dir, 'journal')
  const script = join(dir, 'stuck.sh')
  await writeFile(script, `#!/bin/sh\necho ${MARKER}\n`, { mode: 0o755 })
  const immutable = spawnSync('chattr', ['+i', script], { encoding: 'utf8' })
  if (immutable.status !== 0) return t.skip(`chattr +i: ${immutable.stderr.trim() || immutable.error?.message} (needs root and a file system with attributes)`)
  try {
    const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', './stuck.sh; echo "exit=$?"'], { journal, cwd: dir })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /exit=126/)
    assert.match(r.stderr, /^eyrie: .*stuck\.sh: infected \(Eyrie\.Test\.Marker[^)]*\); exec denied, quarantine failed: .*(EPERM|not permitted)/m)
    assert.equal(logKinds(journal, 'file.quarantine').length, 0)
    assert.equal(existsSync(script), true)
  } finally {
    spawnSync('chattr', ['-i', script])
  }
})

test('given EICAR written by one process, another process cannot read it: it was quarantined when the writer closed it', async () => {
  const dir = await tmp('record-scan-open')
  const journal = join(dir, 'journal')
  // POSIX printf (dash) understands octal escapes, not \x
  const octal = [...eicar()].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', `printf '${octal}' > eicar.com; cat eicar.com; echo "cat-exit=$?"`], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /cat-exit=1/)
  assert.ok(logKinds(journal, 'file.quarantine').some((q) => q.path === join(dir, 'eicar.com')))
  assert.doesNotMatch(r.stdout, /EICAR-STANDARD/)
})

test('given a binary run five times, then clamd judges it once and every exec has its verdict journaled before it (the tracer reuses the clean one); once the guest appends the marker, it no longer runs', async () => {
  const dir = await tmp('record-scan-lent')
  const journal = join(dir, 'journal')
  const script = `cp /usr/bin/true tool; for i in 1 2 3 4 5; do ./tool; done; printf '${MARKER}' >> tool; ./tool; echo "exit=$?"`
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', script], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /exit=12[67]/) // denied (126), or quarantined at its close first (127)
  const tool = join(dir, 'tool')
  const clean = logKinds(journal, 'scan.verdict').filter((v) => v.path === tool && v.trigger === 'exec' && v.verdict === 'clean')
  assert.equal(clean.length, 5)
  assert.equal(new Set(clean.map((v) => v.sha256)).size, 1)
  // each verdict precedes the exec it let through (the first one was not waited for: still in order)
  const execs = logKinds(journal, 'proc.exec').filter((e) => e.path === tool)
  assert.equal(execs.length, 5)
  clean.forEach((v, i) => assert.ok(v.seq < execs[i].seq && (i === 0 || v.seq > execs[i - 1].seq), `verdict #${v.seq} before exec #${execs[i].seq}`))
  assert.ok(Number(/(\d+) more reused by the tracer/.exec(r.stderr)?.[1] ?? 0) >= 4, r.stderr)
  assert.ok(logKinds(journal, 'file.quarantine').some((q) => q.path === tool))
  assert.equal(existsSync(tool), false)
})

test('given no clamd reachable, exec fails closed promptly instead of hanging', async () => {
  const dir = await tmp('record-scan-dead')
  const journal = join(dir, 'journal')
  const started = Date.now()
  const r = eyrie(['record', '--scan', '--clamd', join(dir, 'no-such.sock'), '--', 'sh', '-c', 'echo hi'], { journal, cwd: dir })
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /clamd|no-such\.sock/)
  assert.ok(Date.now() - started < 20_000, 'bounded')
})

test('given EICAR stored only through a live shared view (no write call, no msync), another process opening the file is denied: the view was read out on demand', async () => {
  const dir = await tmp('record-scan-view')
  const journal = join(dir, 'journal')
  const script = `
import mmap, os, subprocess, sys
data = bytes.fromhex(sys.argv[1])
fd = os.open('payload.com', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, len(data))
view = mmap.mmap(fd, len(data))
view[:] = data
# close_fds=False: the child closes nothing before its exec (a close would read the view out too)
r = subprocess.run(['cat', 'payload.com'], capture_output=True, close_fds=False)
print('cat-exit=%d leaked=%s' % (r.returncode, b'EICAR' in r.stdout), flush=True)
view.close()
`
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'python3', '-c', script, eicar().toString('hex')], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /cat-exit=1 leaked=False/)
  // the file is still open for writing: its bytes are read back with the file (file.sync) before
  // the verdict, or out of the view (view.sync) when no writable fd is left
  const syncs = [...logKinds(journal, 'view.sync'), ...logKinds(journal, 'file.sync')].filter((s) => s.path === join(dir, 'payload.com')).sort((a, b) => a.seq - b.seq)
  const denied = logKinds(journal, 'access.denied')
  assert.ok(syncs.length >= 1 && denied.length >= 1, 'read out, then denied')
  assert.ok(syncs[0].seq < denied[0].seq, 'the view was read out before the verdict')
  assert.ok(logKinds(journal, 'scan.verdict').some((v) => v.verdict === 'infected' && v.path === join(dir, 'payload.com') && v.trigger === 'open'))
})

test('given --connections 1, record --scan judges through a single clamd connection (an infected exec is still denied); 0 is a usage error', async () => {
  const dir = await tmp('record-scan-connections')
  const journal = join(dir, 'journal')
  await writeFile(join(dir, 'bad.sh'), `#!/bin/sh\necho ${MARKER}\n`, { mode: 0o755 })
  const r = eyrie(['record', '--scan', '--connections', '1', '--signatures', SIGNATURES, '--', 'sh', '-c', './bad.sh; echo "exit=$?"'], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /exit=126/)
  assert.ok(logKinds(journal, 'access.denied').some((d) => d.path === join(dir, 'bad.sh')))
  const zero = eyrie(['record', '--scan', '--connections', '0', '--signatures', SIGNATURES, '--', 'true'], { journal, cwd: dir })
  assert.equal(zero.status, 2)
  assert.match(zero.stderr, /^eyrie: --connections must be a positive integer, got "0"\n$/)
})
