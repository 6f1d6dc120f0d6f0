// What a scan says about some bytes. `error` is a verdict too: the caller's policy decides what it
// means (deny an exec, let an open through).
export type Verdict =
  | { readonly kind: 'clean' }
  | { readonly kind: 'infected'; readonly signature: string }
  | { readonly kind: 'error'; readonly reason: string }

export const CLEAN: Verdict = { kind: 'clean' }
export const infected = (signature: string): Verdict => ({ kind: 'infected', signature })
export const scanError = (reason: string): Verdict => ({ kind: 'error', reason })

/** How a verdict was reached: from the cache, by a clamd request of our own, or by joining another
 *  caller's in-flight request for the same content. */
export type VerdictSource = 'cache' | 'scan' | 'joined' | 'none'

export interface ScanResult {
  readonly verdict: Verdict
  /** sha256 of the scanned bytes, hex */
  readonly sha256: string
  readonly size: number
  readonly source: VerdictSource
  /** wall time of this call, milliseconds */
  readonly ms: number
}

export const describeVerdict = (v: Verdict): string =>
  v.kind === 'clean' ? 'clean' : v.kind === 'infected' ? `infected (${v.signature})` : `error (${v.reason})`
