// A generated YUV4MPEG2 clip for the x264 workload: moving waves, a moving block and grain, so that
// motion search and entropy coding have real work (a flat or static clip encodes in no time).
import { closeSync, openSync, writeSync } from 'node:fs'
import { seeded } from './random.js'

export interface ClipSize { readonly width: number; readonly height: number; readonly frames: number }

const PERIOD = 1024
const FRAME = Buffer.from('FRAME\n')

export const writeY4m = (file: string, size: ClipSize, seed = 264): number => {
  const { width: w, height: h, frames } = size
  if (w % 2 !== 0 || h % 2 !== 0) throw new Error(`y4m ${w}x${h}: 4:2:0 needs even dimensions`)
  const r = seeded(seed)
  const wave = new Int16Array(PERIOD)
  for (let i = 0; i < PERIOD; i++) wave[i] = Math.round(Math.sin((2 * Math.PI * i) / PERIOD * 3) * 90)
  const grain = new Uint8Array(1 << 16)
  for (let i = 0; i < grain.length; i++) grain[i] = r() & 15
  const luma = Buffer.allocUnsafe(w * h)
  const chroma = Buffer.allocUnsafe((w / 2) * (h / 2))
  const row = new Int16Array(w)
  const fd = openSync(file, 'w')
  let bytes = 0
  const put = (b: Buffer) => {
    bytes += writeSync(fd, b)
  }
  try {
    put(Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\n`))
    for (let t = 0; t < frames; t++) {
      for (let x = 0; x < w; x++) row[x] = wave[(x * 2 + t * 5) % PERIOD]
      const bx = (t * 7) % Math.max(1, w - 64)
      const by = (t * 3) % Math.max(1, h - 64)
      for (let y = 0; y < h; y++) {
        const cy = wave[(y * 3 + PERIOD * 4 - t * 3) % PERIOD]
        const g = (y * 977 + t * 4099) & 0xffff
        const o = y * w
        for (let x = 0; x < w; x++) {
          let v = 128 + ((row[x] * cy) >> 7) + grain[(g + x) & 0xffff] - 8
          if (y >= by && y < by + 64 && x >= bx && x < bx + 64) v = 235 - ((x - bx) ^ (y - by)) * 2
          luma[o + x] = v < 16 ? 16 : v > 235 ? 235 : v
        }
      }
      put(FRAME)
      put(luma)
      for (let plane = 0; plane < 2; plane++) {
        for (let y = 0; y < h / 2; y++) {
          const o = (y * w) / 2
          for (let x = 0; x < w / 2; x++) chroma[o + x] = 128 + (wave[(x + y * 2 + t * (plane + 1) + plane * 300) % PERIOD] >> 2)
        }
        put(chroma)
      }
    }
  } finally {
    closeSync(fd)
  }
  return bytes
}
