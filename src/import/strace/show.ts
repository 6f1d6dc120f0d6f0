// Input text quoted in an error message.

/** Text for an error message: short enough to read, on one line. */
export const show = (raw: string): string => {
  const short = raw.length > 40 ? `${raw.slice(0, 37)}...` : raw
  return short.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
