// A process's working directory and program follow renames, as /proc/PID/cwd and exe do: python
// chdirs into a directory, renames it (and the directory above), and copies its own program, runs
// the copy, renames it while it runs; `ps` at each marker must say what /proc said then.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { ps } from '../../src/projections/index.js'
import { RECORDERS } from '../support/e2e.js'

// each line: pid, cwd, exe as /proc shows them; then a marker (chdir("."), which changes nothing)
const SCRIPT = `
import os, shutil, subprocess, sys
def tell():
    print(os.getpid(), os.readlink('/proc/self/cwd'), os.readlink('/proc/self/exe'), flush=True)
    os.chdir('.')
os.makedirs('top/d'); os.chdir('top/d'); tell()
os.rename('../d', '../e'); tell()
os.rename('../../top', '../../up'); tell()
shutil.copy(os.path.realpath(sys.executable), 'py')
child = subprocess.Popen(['./py', '-c', 'import os, sys; sys.stdin.read(1); os.rename("py", "py2"); print(os.getpid(), os.readlink("/proc/self/cwd"), os.readlink("/proc/self/exe"), flush=True); os.chdir(".")'], stdin=subprocess.PIPE)
child.stdin.write(b'x'); child.stdin.close(); child.wait()
`

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given a process whose working directory and program are renamed while it runs, ps at each moment says what /proc said`, async () => {
    // Debian's python3 by its real name: strace's importer takes execve's path as the program, and
    // the symlink to python3.11 is not known to eyrie (the copy the script runs needs no libpython)
    const r = await record(['sh', '-c', 'mkdir w && cd w && "$(readlink -f /usr/bin/python3)" -c "$0" > ../said', SCRIPT])
    try {
      const said = (await readFile(join(r.dir, 'said'), 'utf8')).trim().split('\n').map((l) => l.split(' '))
      assert.equal(said.length, 4)
      for (const [pid, cwd, exe] of said) {
        const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === Number(pid) && e.path === cwd)
        assert.ok(markers.length > 0, `a marker of ${pid} in ${cwd}`)
        for (const m of markers) {
          const p = ps(await worldAt(r.journal, r.guest, m.seq)).find((x) => x.pid === Number(pid))
          assert.deepEqual([p?.cwd, p?.exe], [cwd, exe], `${pid} at #${m.seq}`)
        }
      }
    } finally {
      await r.cleanup()
    }
  })
}
