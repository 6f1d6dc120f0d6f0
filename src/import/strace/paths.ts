// Path arithmetic on what strace shows. Normalisation is lexical (as the kernel would not do across
// symlinks): the importer has no file system to ask, and the -y decorations it prefers are already
// the kernel's canonical names.
import { posix } from 'node:path'

/** `p` made absolute against `base` (itself absolute), with `.`, `..` and `//` folded away. */
export const resolvePath = (base: string, p: string): string => posix.resolve(base, p)

/** What -y shows for fds that are not files: pipe:[..], socket:[..], anon_inode:[..] (no leading
 *  slash), devices and pseudo files. A memfd ("/memfd:x") is a file (memfd_create is an open). */
const NOT_A_FILE = /^(?:\/dev\/(?!shm\/)|\/proc\/|\/sys\/)/

/** Default test for an fd decoration naming a regular file or directory (writes to it are content).
 *  Devices (a tty, /dev/null) and pseudo files show paths too, but hold no file content. */
export const isContentPath = (path: string): boolean => path.startsWith('/') && !NOT_A_FILE.test(path)
