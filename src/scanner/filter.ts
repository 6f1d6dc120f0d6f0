// Which opens are worth a scan. Scanning every open of every file would put clamd on the path of
// every read of a data file; the paper scanned 59 file types that can carry code. eyrie keeps that
// idea: a file is scanned when its name ends in one of the extensions below, or when its first bytes
// say it is a program or an archive whatever its name (an ELF binary called `data.txt` is still
// scanned). `scanAll` turns the filter off. An exec is always scanned: the filter is for opens.

/** The default extension set, 59 entries, by what they hold. Lower case, without the dot. */
export const DEFAULT_EXTENSIONS = {
  /** executables, drivers, installers, libraries, kernel modules */
  executables: ['exe', 'dll', 'sys', 'scr', 'com', 'cpl', 'ocx', 'drv', 'efi', 'msi', 'bin', 'so', 'ko', 'dylib'],
  /** scripts and byte code that an interpreter runs */
  scripts: ['sh', 'bash', 'py', 'pl', 'rb', 'php', 'js', 'mjs', 'vbs', 'vbe', 'jse', 'wsf', 'ps1', 'bat', 'cmd', 'hta', 'jar', 'class'],
  /** archives and packages (clamd unpacks them) */
  archives: ['zip', 'rar', '7z', 'gz', 'tgz', 'bz2', 'xz', 'tar', 'cab', 'iso', 'deb', 'rpm', 'apk'],
  /** office documents (macros, embedded objects) */
  documents: ['doc', 'docx', 'docm', 'dot', 'xls', 'xlsx', 'xlsm', 'ppt', 'pptx', 'pptm', 'rtf', 'pdf', 'odt', 'ods'],
} as const

export const DEFAULT_EXTENSION_SET: ReadonlySet<string> = new Set(Object.values(DEFAULT_EXTENSIONS).flat())

/** Content magic: the first bytes of programs and archives. */
export const MAGIC: ReadonlyArray<{ readonly name: string; readonly bytes: readonly number[] }> = [
  { name: 'ELF', bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { name: 'script (#!)', bytes: [0x23, 0x21] },
  { name: 'PE (MZ)', bytes: [0x4d, 0x5a] },
  { name: 'ZIP (PK\\3\\4)', bytes: [0x50, 0x4b, 0x03, 0x04] },
]

/** Bytes of content needed to test every magic. */
export const MAGIC_BYTES = Math.max(...MAGIC.map((m) => m.bytes.length))

export interface FilterOptions {
  /** scan every file, whatever its name and content */
  readonly scanAll?: boolean
  /** extensions to scan (lower case, no dot); default DEFAULT_EXTENSION_SET */
  readonly extensions?: ReadonlySet<string>
}

export type FilterMatch = { readonly scan: true; readonly why: string } | { readonly scan: false }

/** The extension of a path's last component, lower case; shared-library versions count as `so`
 *  (libc.so.6, libfoo.so.1.2.3). '' when there is none. A leading dot (`.bashrc`) is not one. */
export const extensionOf = (path: string): string => {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase()
  if (/\.so(\.\d+)+$/.test(name) && name.indexOf('.so') > 0) return 'so'
  const dot = name.lastIndexOf('.')
  return dot <= 0 ? '' : name.slice(dot + 1)
}

export const magicOf = (head: Uint8Array): string | null => {
  for (const m of MAGIC) if (head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b)) return m.name
  return null
}

/** Whether the name alone decides: true when the filter is off or the extension is in the set. */
export const matchByName = (path: string, o: FilterOptions = {}): FilterMatch => {
  if (o.scanAll === true) return { scan: true, why: 'scan-all' }
  const ext = extensionOf(path)
  return ext !== '' && (o.extensions ?? DEFAULT_EXTENSION_SET).has(ext) ? { scan: true, why: `extension .${ext}` } : { scan: false }
}

/** The whole filter: name first, then the content's first bytes. */
export const shouldScan = (path: string, head: Uint8Array, o: FilterOptions = {}): FilterMatch => {
  const byName = matchByName(path, o)
  if (byName.scan) return byName
  const magic = magicOf(head)
  return magic === null ? { scan: false } : { scan: true, why: `magic ${magic}` }
}

/** The interpreter line of a `#!` script ("/bin/sh" of "#!/bin/sh -e"), or null. The kernel reads at
 *  most the first 256 bytes (BINPRM_BUF_SIZE) and splits the path at the first blank. */
export const shebangOf = (head: Uint8Array): string | null => {
  if (head.length < 3 || head[0] !== 0x23 || head[1] !== 0x21) return null
  const line = Buffer.from(head.subarray(2, Math.min(head.length, 256))).toString('latin1').split('\n')[0]
  const interp = line.trim().split(/[ \t]/)[0]
  return interp === '' ? null : interp
}

const PT_INTERP = 3

/** The program interpreter an ELF file names (PT_INTERP: /lib64/ld-linux-x86-64.so.2 for most), which
 *  the kernel loads with it, without an open call; null for none, or when `b` (the file's first bytes)
 *  does not reach it: `reaches` says how many bytes would. Little-endian ELF only (x86). */
export const elfInterpreterOf = (b: Uint8Array): { readonly interp: string | null; readonly reaches: number } => {
  const none = { interp: null, reaches: 0 }
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46 || b[5] !== 1) return none
  const wide = b[4] === 2
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const phoff = wide ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true)
  const [entry, count] = [dv.getUint16(wide ? 54 : 42, true), dv.getUint16(wide ? 56 : 44, true)]
  if (phoff + entry * count > b.length) return { interp: null, reaches: phoff + entry * count }
  for (let i = 0; i < count; i++) {
    const o = phoff + i * entry
    if (dv.getUint32(o, true) !== PT_INTERP) continue
    const off = wide ? Number(dv.getBigUint64(o + 8, true)) : dv.getUint32(o + 4, true)
    const size = wide ? Number(dv.getBigUint64(o + 32, true)) : dv.getUint32(o + 16, true)
    if (off + size > b.length) return { interp: null, reaches: off + size }
    const name = Buffer.from(b.subarray(off, off + size)).toString('latin1').split('\0')[0]
    return { interp: name === '' ? null : name, reaches: 0 }
  }
  return none
}

/** The filter in the form the interceptor applies before it asks (TraceOptions.openFilter): null when
 *  every open is to be asked about (scanAll). */
export const openFilterOf = (o: FilterOptions = {}): { readonly extensions: ReadonlySet<string>; readonly magic: ReadonlyArray<readonly number[]> } | null =>
  o.scanAll === true ? null : { extensions: o.extensions ?? DEFAULT_EXTENSION_SET, magic: MAGIC.map((m) => m.bytes) }
