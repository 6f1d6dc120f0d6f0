// Decisions eyrie takes are events too, so a replay explains them.
import * as t from 'io-ts'
import { AbsPath, Int, nullable } from './codecs.js'

export const ScanVerdict = t.type({
  kind: t.literal('scan.verdict'),
  path: AbsPath,
  sha256: t.string,
  verdict: t.keyof({ clean: null, infected: null, error: null }),
  signature: nullable(t.string),
  trigger: t.keyof({ exec: null, open: null, close: null, demand: null }),
})
export type ScanVerdict = t.TypeOf<typeof ScanVerdict>

export const AccessDenied = t.type({ kind: t.literal('access.denied'), path: AbsPath, call: t.string, errno: Int })
export type AccessDenied = t.TypeOf<typeof AccessDenied>

export const scanCodecs = { 'scan.verdict': ScanVerdict, 'access.denied': AccessDenied } as const
