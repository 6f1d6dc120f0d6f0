// Which system calls stop the tracee: one table drives both the seccomp-bpf program installed in a
// recorded command and the equivalent check the tracer applies itself when it attaches (a filter
// cannot be injected into a running process).
#pragma once

#include <linux/filter.h>
#include <sys/syscall.h>

#include <cstdint>
#include <vector>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // Linux 6.6; the C library's headers may predate it
#endif

namespace eyrie {

/** Argument checks that remove stops without losing state. */
enum class Rule : uint8_t {
  Always,
  FileMapping,   // mmap: anonymous memory is not tracked
  FdControl,     // fcntl: only F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD and F_SETFL change fd state we record
  MovingSeek,    // lseek: lseek(fd, 0, SEEK_CUR) only asks for the position
  StateIoctl,    // ioctl: only FIOCLEX / FIONCLEX, the reflink clones FICLONE / FICLONERANGE, and
                 // LOOP_SET_FD / LOOP_CHANGE_FD / LOOP_CONFIGURE (a file made a loop device's backing)
  RemoveAdvice,  // madvise: only MADV_REMOVE (it punches a hole in the file behind a shared view)
};

struct TracedCall {
  long nr;
  Rule rule;
  const char* name;
  // Writes, reads and seeks: a recorded command does not stop at them (the files it writes are read
  // back at observation points, deferred.cc); an attached tree stops at every call anyway and keeps
  // them, and a recorded process that holds a large file that existed before is switched to
  // syscall stops to keep that file's old bytes (per-write pre-images).
  bool attachOnly = false;
};

const std::vector<TracedCall>& tracedCalls();

/** The seccomp program: SECCOMP_RET_TRACE for the table's calls when their rule holds, ALLOW for the
 *  rest; calls from another ABI (i386, x32) fail with ENOSYS, since their numbers differ and letting
 *  them through untraced would lose state. */
std::vector<sock_filter> buildFilter(bool everyCall);

/** What the filter decides for x86_64 call nr with args: true = the tracer wants this call.
 *  attach: also the calls the recorded command's filter leaves out (attachOnly). */
bool wantsCall(long nr, const uint64_t args[6], bool attach);

/** The fd whose file content call nr can show to someone else or make final (close, dup2 over
 *  it, fsync, mmap, truncate, a copy out of it), or -1; all: every fd (exec, close_range). */
int exposedFd(long nr, const uint64_t args[6], bool& all);

/** Calls that only let go of descriptors without touching content: close, close_range, dup2/dup3
 *  (over the target), execve/execveat (close-on-exec ones). */
bool letsGo(long nr);

/** write, pwrite64, writev, pwritev, pwritev2. */
bool isWriteCall(long nr);
/** An ioctl request that clones another file's bytes into the fd's file (FICLONE, FICLONERANGE). */
bool isClone(uint64_t request);
/** ioctl requests that make a file back a loop device: writes to the device change it, by no call on it. */
bool isLoopAttach(uint64_t request);

/** The table's name for nr, or nullptr. */
const char* callName(long nr);

}  // namespace eyrie
