// Where a clamd listens: a local socket (the fast path, what a private clamd uses) or HOST:PORT.
import * as E from 'fp-ts/lib/Either.js'
import { resolve } from 'node:path'

export type ClamdEndpoint = { readonly socket: string } | { readonly host: string; readonly port: number }

/** Linux sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107

/** `SOCKET` (a path) or `HOST:PORT`. A bare word without a colon is a socket path relative to cwd. */
export const parseEndpoint = (s: string): E.Either<string, ClamdEndpoint> => {
  if (s === '') return E.left('--clamd: empty; give a socket path or HOST:PORT')
  const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
  if (hostPort !== null && !s.includes('/')) {
    const port = Number(hostPort[2])
    if (port < 1 || port > 65535) return E.left(`--clamd ${s}: port must be 1..65535`)
    return E.right({ host: hostPort[1].replace(/^\[|\]$/g, ''), port })
  }
  const socket = resolve(s)
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) return E.left(`--clamd ${s}: socket path longer than ${MAX_SOCKET_PATH} bytes`)
  return E.right({ socket })
}

export const describeEndpoint = (e: ClamdEndpoint): string => ('socket' in e ? e.socket : `${e.host}:${e.port}`)
