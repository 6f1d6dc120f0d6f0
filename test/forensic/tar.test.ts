// The export's tar writer (src/forensic/tar.ts) against GNU tar: names are bytes, short ones in the
// ustar header, long ones (and long link targets) in a pax header, marked hdrcharset=BINARY when they
// are not UTF-8; every name, link and byte comes back as written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { lstat, mkdir, open, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { TarWriter } from '../../src/forensic/tar.js'
import { tempDir } from '../support/e2e.js'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
const path = (dir: string, name: Buffer): Buffer => Buffer.concat([Buffer.from(`${dir}/`), name])

test('given entries with short and long names, UTF-8 or not, links and a large-ish file, when GNU tar unpacks them, then every name, target and byte is as written', async () => {
  const dir = await tempDir('tar')
  try {
    const deep = `d/${'x'.repeat(120)}/${'y'.repeat(90)}` // fits ustar only split into prefix and name
    const longBad = bytes(`d/${'\xff'.repeat(150)}-\xfe`) // fits nowhere but pax; not UTF-8
    const longGood = Buffer.from(`d/${'é'.repeat(80)}`, 'utf8') // pax, UTF-8
    const content = Buffer.alloc(70_000, 'z')
    const file = join(dir, 'x.tar')
    const fh = await open(file, 'wx')
    const tar = new TarWriter(fh)
    const mtime = new Date(0)
    const put = (name: Buffer, data: Buffer) => tar.entry({ name, type: 'file', size: data.length, mode: 0o644, mtime }, (write) => write(data))
    await tar.entry({ name: bytes('d/'), type: 'directory', mode: 0o755, mtime })
    await tar.entry({ name: bytes(`d/${'x'.repeat(120)}/`), type: 'directory', mode: 0o755, mtime })
    await put(bytes(deep), Buffer.from('deep'))
    await put(longBad, content)
    await put(longGood, Buffer.from('utf8'))
    await put(bytes('d/short\xff'), Buffer.from('short'))
    await tar.entry({ name: bytes('d/hard'), type: 'link', linkname: longBad, mode: 0o644, mtime })
    await tar.entry({ name: bytes('d/soft'), type: 'symlink', linkname: bytes(`../${'\xfe'.repeat(130)}`), mode: 0o777, mtime })
    await tar.finish()
    await fh.close()

    const x = join(dir, 'x')
    await mkdir(x)
    execFileSync('tar', ['-xf', file, '-C', x])
    assert.equal((await readFile(path(x, bytes(deep)))).toString(), 'deep')
    assert.deepEqual(await readFile(path(x, longBad)), content)
    assert.equal((await readFile(path(x, longGood))).toString(), 'utf8')
    assert.equal((await readFile(path(x, bytes('d/short\xff')))).toString(), 'short')
    assert.equal((await lstat(path(x, bytes('d/hard')))).ino, (await lstat(path(x, longBad))).ino)
    assert.deepEqual(await readlink(path(x, bytes('d/soft')), { encoding: 'buffer' }), bytes(`../${'\xfe'.repeat(130)}`))
    assert.equal((await readdir(path(x, bytes('d')), { encoding: 'buffer' })).length, 6)
    // a listing by tar itself agrees, and the archive is whole (GNU tar checks every header's sum)
    assert.equal(execFileSync('tar', ['-tf', file]).toString('latin1').split('\n').filter((l) => l !== '').length, 8)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
