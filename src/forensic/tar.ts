// A tar writer: POSIX ustar headers, with a pax extended header before an entry whose name or link
// does not fit them or whose size passes 8 GiB. Names are bytes, written as given (a name eyrie
// recorded comes back as the bytes the guest used, UTF-8 or not: hdrcharset=BINARY says so in pax).
// Deterministic: the same entries give the same bytes.
import { isUtf8 } from 'node:buffer'

const BLOCK = 512
const MAX_OCTAL_SIZE = 8 ** 11 - 1 // what 11 octal digits hold

export type TarType = 'file' | 'link' | 'symlink' | 'directory'
const TYPEFLAG: Readonly<Record<TarType | 'pax', string>> = { file: '0', link: '1', symlink: '2', directory: '5', pax: 'x' }

export interface TarHeader {
  readonly name: Buffer
  readonly type: TarType
  readonly mode: number
  readonly mtime: Date
  readonly size?: number
  /** link target (hard links: another entry's name) */
  readonly linkname?: Buffer
}

const octal = (out: Buffer, at: number, width: number, n: number): void => {
  out.write(`${n.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1')
}

/** ustar's split of a name into prefix (<= 155 bytes) / name (<= 100 bytes) at a '/', or null. */
const split = (name: Buffer): { prefix: Buffer; name: Buffer } | null => {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name }
  for (let i = name.indexOf(0x2f); i >= 0; i = name.indexOf(0x2f, i + 1)) {
    if (i > 155) break
    if (name.length - i - 1 <= 100 && name.length - i - 1 > 0) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) }
  }
  return null
}

const header = (name: Buffer, prefix: Buffer, type: TarType | 'pax', mode: number, size: number, mtime: Date, linkname: Buffer): Buffer => {
  const h = Buffer.alloc(BLOCK)
  name.copy(h, 0, 0, 100)
  octal(h, 100, 8, mode & 0o7777)
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, size)
  octal(h, 136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)))
  h.fill(0x20, 148, 156) // the checksum counts its own field as spaces
  h.write(TYPEFLAG[type], 156, 'latin1')
  linkname.copy(h, 157, 0, 100)
  h.write('ustar\0', 257, 'latin1')
  h.write('00', 263, 'latin1')
  octal(h, 329, 8, 0)
  octal(h, 337, 8, 0)
  prefix.copy(h, 345, 0, 155)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
  return h
}

/** One pax record, "LEN key=value\n", LEN counting itself. */
const record = (key: string, value: Buffer): Buffer => {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')])
  let len = body.length + 1
  while (String(len).length + body.length !== len) len = String(len).length + body.length
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body])
}

const padding = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK)

const FLUSH_AT = 1 << 20

/** Where a TarWriter writes: a file opened for it (a FileHandle), or memory (tarBytes). */
export interface TarSink {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>
}

/** Writes entries in order into a file opened for it; small writes are gathered. */
export class TarWriter {
  private pos = 0 // file offset of buf[0]
  private used = 0
  private readonly buf: Buffer
  constructor(private readonly fh: TarSink, gather = FLUSH_AT) {
    this.buf = Buffer.allocUnsafe(gather)
  }

  private async write(b: Uint8Array): Promise<void> {
    let off = 0
    while (off < b.length) off += (await this.fh.write(b, off, b.length - off, this.pos + off)).bytesWritten
    this.pos += b.length
  }

  private async flush(): Promise<void> {
    const used = this.used
    this.used = 0
    await this.write(this.buf.subarray(0, used))
  }

  private async put(b: Uint8Array): Promise<void> {
    if (this.used + b.length > this.buf.length) await this.flush()
    if (b.length >= this.buf.length) return this.write(b)
    this.buf.set(b, this.used)
    this.used += b.length
  }

  /** Writes the header, then `fill` delivers exactly `size` bytes of a file's content. */
  async entry(h: TarHeader, fill?: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
    const size = h.type === 'file' ? (h.size ?? 0) : 0
    const link = h.linkname ?? Buffer.alloc(0)
    const parts = split(h.name)
    const pax: Buffer[] = []
    if (parts === null) pax.push(record('path', h.name))
    if (link.length > 100) pax.push(record('linkpath', link))
    if (size > MAX_OCTAL_SIZE) pax.push(record('size', Buffer.from(String(size), 'latin1')))
    if ((parts === null && !isUtf8(h.name)) || (link.length > 100 && !isUtf8(link))) pax.unshift(record('hdrcharset', Buffer.from('BINARY', 'latin1')))
    if (pax.length > 0) {
      const body = Buffer.concat(pax)
      await this.put(header(Buffer.from('PaxHeader', 'latin1'), Buffer.alloc(0), 'pax', h.mode, body.length, h.mtime, Buffer.alloc(0)))
      await this.put(body)
      await this.put(padding(body.length))
    }
    const { prefix, name } = parts ?? { prefix: Buffer.alloc(0), name: h.name.subarray(h.name.length - 100) }
    await this.put(header(name, prefix, h.type, h.mode, size > MAX_OCTAL_SIZE ? 0 : size, h.mtime, link.subarray(0, 100)))
    let written = 0
    if (fill !== undefined) {
      await fill(async (chunk) => {
        await this.put(chunk)
        written += chunk.length
      })
    }
    if (written !== size) throw new Error(`bug: tar entry ${h.name.toString()}: ${written} bytes delivered for a size of ${size}`)
    await this.put(padding(size))
  }

  /** The end-of-archive marker (two zero blocks). */
  async finish(): Promise<void> {
    await this.put(Buffer.alloc(2 * BLOCK))
    await this.flush()
  }
}

/** A whole archive in memory: regular files, named as given, mode 0644, mtime 0 (the scanner sends
 *  many small files to clamd as one stream this way). */
export const tarBytes = async (files: ReadonlyArray<{ readonly name: string; readonly data: Uint8Array }>): Promise<Buffer> => {
  const parts: Buffer[] = []
  const sink: TarSink = {
    write: async (b, off, len) => {
      parts.push(Buffer.from(b.subarray(off, off + len))) // the writer reuses its buffer: copy
      return { bytesWritten: len }
    },
  }
  const w = new TarWriter(sink, 64 * 1024)
  const epoch = new Date(0)
  for (const f of files) {
    await w.entry({ name: Buffer.from(f.name), type: 'file', mode: 0o644, mtime: epoch, size: f.data.length }, (write) => write(f.data))
  }
  await w.finish()
  return Buffer.concat(parts)
}
