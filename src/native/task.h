// What the tracer keeps per traced task: the fd table it shares or copied, the memory it shares or
// copied, and the call it is in the middle of.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ranges.h"

namespace eyrie {

/** What the tracer needs to know about one fd: enough to decide whether its calls matter. */
struct FdEntry {
  bool regular = false;
  int flags = 0;  // O_* as opened (access mode, O_APPEND)
  bool cloexec = false;
  std::string path;
  std::string inode;
  bool observeWrites = false;  // a file that existed before eyrie saw it: keep its old bytes
  bool deferred = false;       // writable, written without stops: read back at observation points
};

/** Shared by threads and CLONE_FILES children, copied by fork, unshared by exec. */
struct FdTable {
  std::unordered_map<int, FdEntry> fds;
};

/** Shared by threads and CLONE_VM children; only what view.sync needs. */
struct Memory {
  bool sharedFileViews = false;  // some MAP_SHARED file mapping that can store was made: worth reading at unmap/exit
  bool synced = false;           // read once more when eyrie let go of it (detach)
  int users = 0;
  // where the journal has file views of it: known from an exec eyrie saw, not for memory it found
  // (attach) or that the command had before its exec
  bool viewsKnown = false;
  AddressRanges views;
  /** Whether a memory call on [addr, addr + len) may change a view the journal holds. */
  bool mayHoldView(uint64_t addr, uint64_t len) const { return !viewsKnown || views.intersects(addr, AddressRanges::pageEnd(addr, len)); }
};

/** A call's fd argument: the kernel takes the low 32 bits, signed (AT_FDCWD is -100). */
inline int asFd(uint64_t v) { return static_cast<int>(static_cast<int32_t>(v)); }

/** The call a task is in, between its entry and exit stops. */
struct Call {
  long nr = -1;
  uint64_t args[6] = {};
  std::string path;   // resolved at entry (the subject, or the source of a rename/link)
  std::string path2;  // the destination of a rename/link
  std::string inode;  // a link's source when it has no name ("" otherwise)
  int created = -1;   // fd.open's created: -1 unknown, 0, 1
  bool syncAtExit = false;  // an open: what is written without stops to the file it opens is read at its exit
  uint64_t flags = 0;   // open flags (openat2 keeps them in memory); chmod, chown: AT_SYMLINK_NOFOLLOW or 0
  int byFd = -1;        // chmod, chown of the file an fd holds (AT_EMPTY_PATH): that fd
  bool located = false;  // offset below is where the write lands (pre-images, copies)
  bool explicitOffset = false;  // a copy into the file at an offset the caller gave
  uint64_t offset = 0;
  uint64_t length = 0;  // what a clone (FICLONE, FICLONERANGE) puts at offset
  std::vector<std::string> argv;
  /** io_submit's writes (aio.cc): iocb index, fd, where, the buffer (or iovec array) and its length */
  struct AioWrite {
    uint32_t index;
    int fd;
    bool located;
    uint64_t offset;
    bool vector;
    uint64_t buf, count, bytes;
  };
  std::vector<AioWrite> aio;
};

struct Task {
  pid_t tid = 0;
  pid_t tgid = 0;
  pid_t ppid = 0;  // a process's parent (its leader's; the kernel's, as last seen)
  bool started = false;    // its first stop was seen and it runs
  bool announced = false;  // its proc.spawn was emitted (or it was there from the start)
  bool held = false;       // stopped at its first stop, waiting for its parent's fork event
  bool wantExit = false;   // resumed to see the exit of `call`
  // a call resumed without its exit stop whose outcome the file shows (chmod and chown by name, a
  // mkdir): read at this task's next stop, or at another's once the file shows it (attributes.cc)
  std::optional<Call> later;
  bool exiting = false;    // reported PTRACE_EVENT_EXIT: no longer a user of its memory
  bool exitEmitted = false;  // its proc.exit went out at that stop (threads)
  bool listening = false;  // in a group-stop, resumed with PTRACE_LISTEN
  bool parked = false;     // stopped by freeze(): its stop waits in Tracer::parked_
  // A call whose effect depends on the order of others on the same file (a write, a move of the
  // position of a writable description; order.cc): the inode, the fd, whether it writes, and whether
  // it is queued (stopped at the call's entry until a conflicting call has returned)
  std::string serial;
  int serialFd = -1;
  bool serialWrite = false;
  bool queued = false;
  int pendingSignal = 0;   // attach start: a signal seen while stopping everyone, to deliver later
  long stopNr = -1;        // the call whose entry it stopped at last (its exit stop counts there)
  std::shared_ptr<FdTable> fds;
  std::shared_ptr<Memory> mem;
  Call call;
};

/** Byte ranges of a file whose content eyrie has seen (observed or written since). */
using KnownRanges = std::map<uint64_t, uint64_t>;  // start -> end

}  // namespace eyrie
