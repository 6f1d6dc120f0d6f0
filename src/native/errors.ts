// Why a trace could not run, with the errno name as `code` (ENOENT, EPERM, ESRCH, ...).
export class TraceError extends Error {
  override readonly name = 'TraceError'
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
