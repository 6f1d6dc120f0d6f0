// Reflinks: ioctl FICLONE and FICLONERANGE copy another file's bytes into a file without a write
// call (cp --reflink, dedupe and image tools on XFS and btrfs). Into a file eyrie follows write by
// write (a large one that existed before), they went unseen: eyrie kept the bytes it had seen there
// and served a mix no one ever wrote. Run for real on XFS in a file on a loop device; the kernel
// (the file after each step) is the oracle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { materialize } from '../../src/engine/content.js'
import { worldAt } from '../../src/engine/replay.js'
import { timeline } from '../../src/forensic/timeline.js'
import { contentPlan } from '../../src/projections/index.js'
import { contentAt, recordNatively, RECORDERS, tempDir } from '../support/e2e.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

// after each step: the file's sha256, then a marker (chdir)
const SCRIPT = `
import fcntl, hashlib, os, struct, sys
FICLONE, FICLONERANGE = 0x40049409, 0x4020940d
os.chdir(sys.argv[1])
def tell():
    print(hashlib.sha256(open('big', 'rb').read()).hexdigest(), flush=True); os.chdir('.')
fd = os.open('big', os.O_RDWR)
os.pwrite(fd, b'seen by eyrie', 0); tell()
src = os.open('blocks', os.O_RDONLY)
fcntl.ioctl(fd, FICLONERANGE, struct.pack('qQQQ', src, 4096, 8192, 0)); tell()
os.pwrite(fd, b'again', 100); tell()
fcntl.ioctl(fd, FICLONE, src); tell()
os.close(fd)
`

const mountable = process.getuid?.() === 0 && existsSync('/dev/loop-control')
const skip = mountable ? false : 'needs root and loop devices to mount XFS'

/** Runs f on a fresh XFS (reflinks on) mounted from a file through a loop device. */
const withXfs = async (f: (mnt: string) => Promise<void>): Promise<void> => {
  const base = await tempDir('reflink')
  const mnt = join(base, 'mnt')
  const image = join(base, 'xfs.img')
  await writeFile(image, '')
  execFileSync('truncate', ['-s', '300M', image])
  execFileSync('mkfs.xfs', ['-q', image])
  await mkdir(mnt)
  execFileSync('mount', ['-o', 'loop', image, mnt])
  try {
    await f(mnt)
  } finally {
    execFileSync('umount', [mnt])
    await rm(base, { recursive: true, force: true })
  }
}

test('native: given a large file that existed before, changed by writes and by FICLONE and FICLONERANGE on XFS, content after each step hashes as the file did', { skip }, () =>
  withXfs(async (mnt) => {
    // written before the recording: 4 MiB eyrie will follow write by write, 16 KiB to clone from
    const big = Buffer.alloc(4 << 20)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff
    await writeFile(join(mnt, 'big'), big)
    await writeFile(join(mnt, 'blocks'), Buffer.concat([Buffer.alloc(4096, 'a'), Buffer.alloc(8192, 'b'), Buffer.alloc(4096, 'c')]))
    const r = await recordNatively(['sh', '-c', 'python3 -c "$0" "$1" > hashes', SCRIPT, mnt])
    try {
      const hashes = (await readFile(join(r.dir, 'hashes'), 'utf8')).trim().split('\n')
      const python = r.events.filter((e) => e.kind === 'proc.chdir').at(-1)?.pid
      const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === python && e.path === mnt).map((e) => e.seq).slice(1) // the first moved it there
      assert.equal(markers.length, hashes.length, 'one marker per step')
      // the file as each step left it, which the kernel's hashes confirm
      const blocks = await readFile(join(mnt, 'blocks'))
      const model = Buffer.from(big)
      // each step, and the end of what the program changed up to it
      const steps: Array<[() => unknown, number]> = [
        [() => model.write('seen by eyrie', 0), 13],
        [() => blocks.copy(model, 0, 4096, 12288), 8192],
        [() => model.write('again', 100), 8192],
        [() => blocks.copy(model, 0), 16384],
      ]
      for (const [k, seq] of markers.entries()) {
        const [step, changed] = steps[k]
        step()
        assert.equal(sha(model), hashes[k], `the model of step ${k}`)
        // bytes eyrie never saw (most of a file that existed before) are unknown; what it knows must
        // be the kernel's, and it knows every byte the program changed
        const w = await worldAt(r.journal, r.guest, seq)
        const plan = contentPlan(w, join(mnt, 'big'))
        assert.ok(plan.ok && plan.size === model.length, `size at step ${k}`)
        const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
        for (const u of unknown) bytes.fill(0, u.start, u.end), model.copy(bytes, u.start, u.start, u.end)
        assert.equal(sha(bytes), hashes[k], `known bytes at step ${k} (#${seq})`)
        assert.ok(unknown.every((u) => u.start >= changed), `the changed bytes are known at step ${k}: ${JSON.stringify(unknown.slice(0, 2))}`)
      }
    } finally {
      await r.cleanup()
    }
  }))

// cp clones (FICLONE: coreutils' --reflink=auto is the default), and a range clone into a new file
const COPIES = `
import fcntl, os, struct, subprocess, sys
os.chdir(sys.argv[1])
with open('src', 'wb') as f: f.write(b''.join(bytes([65 + k]) * 4096 for k in range(4)))
subprocess.run(['cp', '--reflink=always', 'src', 'copy'], check=True)
dst = os.open('part', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.write(dst, b'x' * 20000)
src = os.open('src', os.O_RDONLY)
fcntl.ioctl(dst, 0x4020940d, struct.pack('qQQQ', src, 4096, 8192, 4096))  # FICLONERANGE
os.close(dst)
`

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given cp --reflink and a range clone of files written in the recording on XFS, content at the end is the kernel's`, { skip }, () =>
    withXfs(async (mnt) => {
      const r = await record(['python3', '-c', COPIES, mnt])
      try {
        for (const name of ['src', 'copy', 'part']) {
          const disk = await readFile(join(mnt, name))
          assert.deepEqual(await contentAt(r, r.events.length, join(mnt, name)), disk, name)
          assert.equal((await timeline(r.journal, r.guest, join(mnt, name))).at(-1)?.sha256, sha(disk), `the timeline of ${name}`)
        }
      } finally {
        await r.cleanup()
      }
    }))
}
