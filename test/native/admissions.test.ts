// What the tracer settles without asking JavaScript: opens its copy of the scanner's filter passes
// by (scanfilter.cc), and execs/opens of files it was lent a clean verdict for (admissions.cc).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { realpathSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { DecisionRequest, Decided } from '../../src/native/index.js'
import { openFilterOf } from '../../src/scanner/filter.js'
import { ofKind, record, tempDir } from './support.js'

const SHA = 'ab'.repeat(32)
const LD_SHA = 'cd'.repeat(32)
const LD_SO = '/lib64/ld-linux-x86-64.so.2' // the interpreter /usr/bin/true names (PT_INTERP)
const LD_FILE = realpathSync(LD_SO) // the name a decision gives it (src/native/procfs.h nameForTask)
// a program's exec loan comes with its interpreter's, as the scanner lends them (src/scanner/live.ts)
const lend = (exec: boolean, interpreter: string | null = exec ? LD_FILE : null): Decided =>
  ({ errno: 0, clean: { sha256: SHA, exec, ...(interpreter === null ? {} : { interpreter: { path: interpreter, sha256: LD_SHA } }) } })
const openFilter = openFilterOf() ?? undefined

// python opens each path read-only, as a program reading its data would
const opensEach = (paths: string[]): string[] =>
  ['python3', '-c', 'import os, sys\nfor p in sys.argv[1:]: os.close(os.open(p, os.O_RDONLY))', ...paths]

/** Records argv in dir with the scanner's filter, letting every open go: what was asked about, and
 *  the names under dir (relative, sorted). */
const askedUnder = async (dir: string, argv: string[]): Promise<{ mine: string[]; asked: DecisionRequest[] }> => {
  const asked: DecisionRequest[] = []
  const { result } = await record(argv, dir, {
    decideOpens: true,
    openFilter,
    decide: async (req) => {
      asked.push(req)
      return 0
    },
  })
  assert.equal(result.status, 0)
  return { mine: asked.filter((r) => r.path.startsWith(`${dir}/`)).map((r) => r.path.slice(dir.length + 1)).sort(), asked }
}

test('given the scanner filter, then the tracer asks only about opens it may scan: listed extensions (any case, .so.N), ELF/#!/MZ/ZIP heads, names not plain ASCII', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const files: Record<string, string | Buffer> = {
      'libx.so.1.2': 'text', 'X.PY': 'print()', 'archive.ZIP': 'not really',
      'notes.txt': 'plain text', 'data': 'more text', 'libx.so.x': 'text', '.so.1': 'text',
      'blob.dat': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]), 'run': '#!/bin/sh\n', 'setup.bin.txt': 'MZ\x90', 'doc.txt': 'PK\x03\x04',
      'caf\u00e9': 'text', 'empty': '',
    }
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content)
    await mkdir(join(dir, 'sub'))
    const { mine, asked } = await askedUnder(dir, opensEach([...Object.keys(files), 'sub'].map((n) => join(dir, n))))
    assert.deepEqual(mine, ['X.PY', 'archive.ZIP', 'blob.dat', 'caf\u00e9', 'doc.txt', 'libx.so.1.2', 'run', 'setup.bin.txt'])
    // python's own modules and libraries are asked about (.py, .so), its data files are not
    assert.ok(asked.some((r) => r.path.endsWith('.so.6')), 'libc asked about')
  } finally {
    await cleanup()
  }
})

test('given a file the filter passed over, when another process gives it an ELF head between two reads by the traced program, then the second open is asked about (the tracer remembers first bytes by the file\'s stat)', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const [f, ready, go] = ['data', 'ready', 'go'].map((n) => join(dir, n))
    await writeFile(f, 'plain text, as long as the head to come')
    for (const fifo of [ready, go]) assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    const reads = 'import os, sys\nf, ready, go = sys.argv[1:]\nfor i in range(3): os.close(os.open(f, os.O_RDONLY))\nopen(ready, "w").close()\nopen(go).read()\nos.close(os.open(f, os.O_RDONLY))'
    const asked: string[] = []
    const recording = record(['python3', '-c', reads, f, ready, go], dir, {
      decideOpens: true,
      openFilter,
      decide: async (req) => {
        if (req.path === f) asked.push(req.path)
        return 0
      },
    })
    await readFile(ready) // the program read it three times and waits
    assert.deepEqual(asked, [])
    // the same size: only the times tell
    await writeFile(f, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from('plain text, as long as the head to come').subarray(4)]))
    await writeFile(go, 'go')
    assert.equal((await recording).result.status, 0)
    assert.deepEqual(asked, [f])
  } finally {
    await cleanup()
  }
})

test('given the scanner filter, when names are relative (to the cwd, to a dirfd, through ..) or symlinks, then the tracer asks as it does for their canonical names: a link by its target, a dangling one not at all', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    await writeFile(join(dir, 'tool.sh'), 'echo')
    await writeFile(join(dir, 'plain.txt'), 'text')
    await writeFile(join(dir, 'head.h'), '#!/bin/sh\n')
    await mkdir(join(dir, 'sub'))
    await mkdir(join(dir, 'sub2'))
    await writeFile(join(dir, 'sub2', 'inner.py'), 'print()')
    await symlink('tool.sh', join(dir, 'link.txt'))
    await symlink('plain.txt', join(dir, 'link.sh'))
    await symlink('missing', join(dir, 'dangling.sh'))
    const script = [
      'import os, sys',
      "d = os.open('sub2', os.O_RDONLY | os.O_DIRECTORY)",
      'for p in sys.argv[1:]:',
      '    try: os.close(os.open(p, os.O_RDONLY))',
      '    except OSError: pass',
      "os.close(os.open('inner.py', os.O_RDONLY, dir_fd=d))",
    ].join('\n')
    const names = ['tool.sh', 'plain.txt', 'head.h', 'link.txt', 'link.sh', 'dangling.sh', 'sub/../tool.sh', 'sub', 'nothing.sh']
    const { mine } = await askedUnder(dir, ['python3', '-c', script, ...names])
    assert.deepEqual(mine, ['head.h', 'sub2/inner.py', 'tool.sh', 'tool.sh', 'tool.sh'])
  } finally {
    await cleanup()
  }
})

test('given a clean verdict lent for execs, when a binary runs three times, then JavaScript is asked once and the tracer journals the other two verdicts, each with its interpreter\'s', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const tool = join(dir, 'tool')
    await copyFile('/usr/bin/true', tool)
    const asked: string[] = []
    const { result, drafts } = await record(['sh', '-c', './tool; ./tool; ./tool'], dir, {
      decide: async (req) => {
        asked.push(req.path)
        return req.path === tool ? lend(true) : 0
      },
    })
    assert.equal(result.status, 0)
    assert.deepEqual(asked, ['/usr/bin/dash', tool])
    // the program's verdict and its interpreter's, as the scanner's decision journals them
    const lent = ofKind(drafts, 'scan.verdict').map((d) => [d.body.path, d.body.sha256, d.body.verdict, d.body.signature, d.body.trigger])
    const pair = [[tool, SHA, 'clean', null, 'exec'], [LD_FILE, LD_SHA, 'clean', null, 'exec']]
    assert.deepEqual(lent, [...pair, ...pair])
    // each pair comes right before the exec it admitted
    const execs = drafts.flatMap((d, i) => (d.body.kind === 'proc.exec' && d.body.path === tool ? [i] : []))
    const verdicts = drafts.flatMap((d, i) => (d.body.kind === 'scan.verdict' ? [i] : []))
    assert.equal(execs.length, 3)
    assert.ok(verdicts[1] > execs[0] && verdicts[1] < execs[1] && verdicts[3] > execs[1] && verdicts[3] < execs[2], `${verdicts} among ${execs}`)
  } finally {
    await cleanup()
  }
})

test('given a lent verdict, when a traced task rewrites the file with the same bytes, then the next exec is asked again', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const tool = join(dir, 'tool')
    await copyFile('/usr/bin/true', tool)
    await copyFile('/usr/bin/true', join(dir, 'copy'))
    const asked: string[] = []
    // cat > tool: an O_TRUNC open of it, the same size and bytes, likely within one clock tick
    const { result } = await record(['sh', '-c', './tool; cat copy > tool; ./tool; ./tool'], dir, {
      decide: async (req) => {
        asked.push(req.path)
        return req.path === tool ? lend(true) : 0
      },
    })
    assert.equal(result.status, 0)
    assert.deepEqual(asked.filter((p) => p === tool).length, 2)
  } finally {
    await cleanup()
  }
})

test('given a lent verdict, when another process changes the file while JavaScript judges it, then the next exec is asked again', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const tool = join(dir, 'tool')
    await copyFile('/usr/bin/true', tool)
    let asked = 0
    const { result } = await record(['sh', '-c', './tool; ./tool; ./tool'], dir, {
      decide: async (req) => {
        if (req.path !== tool) return 0
        // the tracer took its stat before asking: this change (ctime) voids the first loan only
        if (++asked === 1) await utimes(tool, new Date(1e12), new Date(1e12))
        return lend(true)
      },
    })
    assert.equal(result.status, 0)
    assert.equal(asked, 2)
  } finally {
    await cleanup()
  }
})

test('given a program\'s exec loan, when its ELF interpreter changes (another process) or was lent under another name or not at all, then each later exec is asked again', async () => {
  const { dir, cleanup } = await tempDir()
  // an interpreter name short enough to take the place of the usual one in PT_INTERP
  const ld = `/tmp/ld-${process.pid}.so`
  try {
    await copyFile(LD_SO, join(dir, 'ld.so'))
    await symlink(join(dir, 'ld.so'), ld)
    const prog = Buffer.from(await readFile('/usr/bin/true'))
    const at = prog.indexOf(`${LD_SO}\0`)
    assert.ok(at > 0, 'true names the usual interpreter')
    prog.fill(0, at, at + LD_SO.length).write(ld, at, 'latin1')
    const tool = join(dir, 'tool')
    await writeFile(tool, prog, { mode: 0o755 })
    const asked = async (interpreter: string | null) => {
      let n = 0
      // /bin/echo between the second and the third: its question is when another process changes ld.so
      const { result } = await record(['sh', '-c', './tool; ./tool; /bin/echo; ./tool; ./tool'], dir, {
        decide: async (req) => {
          if (req.path === tool) n++
          if (req.path === '/usr/bin/echo') await utimes(join(dir, 'ld.so'), new Date(), new Date(1e12 + n))
          return req.path === tool ? lend(true, interpreter) : 0
        },
      })
      assert.equal(result.status, 0)
      return n
    }
    // a decision names the interpreter by its canonical name, as the tracer does
    assert.equal(await asked(join(dir, 'ld.so')), 2, 'asked at the first exec, and after the interpreter changed')
    assert.equal(await asked(ld), 4, 'the interpreter lent under another name (the link the program names)')
    assert.equal(await asked(null), 4, 'no interpreter lent')
  } finally {
    await rm(ld, { force: true })
    await cleanup()
  }
})

test('given a verdict lent for opens only (a #! script), when the script is read and then run, then its exec is asked; with admitMs 0 nothing is lent', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    const script = join(dir, 's.sh')
    await writeFile(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    // the interpreter opens the script to read it after the exec: a lent verdict covers that open too
    for (const [admitMs, expected, lent] of [[60_000, ['openat', 'execve'], 2], [0, ['openat', 'openat', 'execve', 'openat'], 0]] as const) {
      const calls: string[] = []
      const { result, drafts } = await record(['sh', '-c', 'cat s.sh > /dev/null; cat s.sh > /dev/null; ./s.sh'], dir, {
        decideOpens: true,
        openFilter,
        admitMs,
        decide: async (req) => {
          if (req.path === script) calls.push(req.call)
          return req.path === script && req.call !== 'execve' ? lend(false) : 0
        },
      })
      assert.equal(result.status, 0)
      assert.deepEqual(calls, expected, `admitMs ${admitMs}`)
      assert.equal(ofKind(drafts, 'scan.verdict').length, lent)
    }
  } finally {
    await cleanup()
  }
})
