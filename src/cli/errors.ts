// CLI-level errors: mapped to exit codes in main only (1 error, 2 usage).
export class CliError extends Error {
  override readonly name = 'CliError'
}
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
