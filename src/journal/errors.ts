// Errors carry what the caller needs: a stable code, where (guest/seq or file:line), and the cause.
export type JournalErrorCode = 'CORRUPT' | 'DECODE' | 'NOT_FOUND' | 'IO' | 'USAGE'

export class JournalError extends Error {
  override readonly name = 'JournalError'
  constructor(
    readonly code: JournalErrorCode,
    message: string,
    readonly where: { readonly guest?: string; readonly seq?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
