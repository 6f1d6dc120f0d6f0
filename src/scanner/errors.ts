// Scanner errors: a stable code, whether trying again can help, and the cause. The CLI maps them to
// messages and exit codes; the gate turns a scan failure into an `error` verdict and applies policy.
export type ScannerErrorCode =
  | 'CLAMD_NOT_FOUND' // no clamd binary
  | 'CLAMD_START' // a private clamd did not come up
  | 'CLAMD_UNREACHABLE' // connect/ping failed
  | 'SIGNATURES' // the signature directory is unusable
  | 'QUARANTINE' // moving a file aside or back failed
  | 'BAD_ENDPOINT'
  | 'CACHE' // the verdict cache on disk is unusable or not safe to trust

export class ScannerError extends Error {
  override readonly name = 'ScannerError'
  constructor(
    readonly code: ScannerErrorCode,
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** One line for any thrown value: the message, with a node errno code when there is one (a
 *  ScannerError's code is for programs; its message says it already). */
export const reasonOf = (err: unknown): string => {
  if (err instanceof Error) {
    const code = err instanceof ScannerError ? undefined : (err as NodeJS.ErrnoException).code
    const msg = err.message.trim() || err.name
    return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg
  }
  return String(err)
}
