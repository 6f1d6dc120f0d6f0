// A process with a root or mounts of its own (chroot, unshare -m, a container) means other files by
// the same absolute names. Judged by the host's names, a bind mount of an infected script over a
// clean one in a private mount namespace ran unjudged. Now a decision walks the tracee's names
// through /proc/TID/root (rootBase), and quarantine copies such a file: a rename from here would
// move the file under the mount point (the clean one) instead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { SIGNATURES, MARKER, tmp } from './support.js'

const unshare = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0
const skip = unshare ? false : 'needs root and unshare -m (mount namespaces)'

test('given a private mount namespace that binds a script with the marker over a clean one, its exec fails with EACCES, the bytes are quarantined as a copy and the clean file stays; bound over a clean one, it runs', { skip }, async () => {
  for (const marked of [true, false]) {
    const dir = await tmp('mount-ns')
    const journal = join(dir, 'journal')
    await writeFile(join(dir, 'clean.sh'), '#!/bin/sh\necho clean-ran\n', { mode: 0o755 })
    await writeFile(join(dir, 'other.sh'), `#!/bin/sh\necho ${marked ? MARKER : 'other-ran'}\n`, { mode: 0o755 })
    const script = `mount --bind ${dir}/other.sh ${dir}/clean.sh && ${dir}/clean.sh; echo status=$?`
    const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'unshare', '-m', 'sh', '-c', script], { journal, cwd: dir })
    assert.equal(r.status, 0, r.stderr)
    if (!marked) {
      assert.match(r.stdout, /other-ran/)
      continue
    }
    assert.match(r.stdout, /status=126/)
    assert.doesNotMatch(r.stdout, new RegExp(MARKER))
    const q = JSON.parse(eyrie(['quarantine', 'list', '--json'], { journal }).stdout) as { records: Array<{ path: string; to: string; copied?: boolean }> }
    assert.equal(q.records.length, 1)
    assert.match(q.records[0].path, new RegExp(`^/proc/[0-9]+/root${dir}/clean\\.sh$`))
    assert.equal(q.records[0].copied, true)
    assert.match(await readFile(q.records[0].to, 'utf8'), new RegExp(MARKER))
    assert.equal(await readFile(join(dir, 'clean.sh'), 'utf8'), '#!/bin/sh\necho clean-ran\n', 'the clean file under the mount point stays')
  }
})
