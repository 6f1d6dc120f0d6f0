// The calls that need more than a line: opening, writing (with the bytes), copying between files,
// exec, dup and close, and the fd table the tracer keeps to know which fds are regular files.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

/** What fcntl(F_SETFL) sets (src/events/flags.ts SETFL_FLAGS); it ignores the rest. */
constexpr int kSetflFlags = O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK;

const char* openCallName(long nr) {
  switch (nr) {
    case SYS_open: return "open";
    case SYS_openat: return "openat";
    case SYS_openat2: return "openat2";
    default: return "creat";
  }
}

/** pwritev2 with RWF_APPEND: at the end of the file, whatever its offset and the fd's flags. */
bool rwfAppend(const Call& c) { return c.nr == SYS_pwritev2 && (static_cast<int>(c.args[5]) & RWF_APPEND) != 0; }  // (fd, iov, count, pos_l, pos_h, flags)

/** The handle a tracee passes to open_by_handle_at, opened here on the same mount (O_PATH): -1 when
 *  it cannot be (unreadable, stale, or eyrie lacks CAP_DAC_READ_SEARCH). */
int openHandle(pid_t tid, int mountFd, uint64_t addr) {
  struct file_handle head;
  if (readMemory(tid, addr, sizeof head, reinterpret_cast<uint8_t*>(&head)) != sizeof head || head.handle_bytes > MAX_HANDLE_SZ) return -1;
  std::vector<uint8_t> handle(sizeof head + head.handle_bytes);
  if (readMemory(tid, addr, handle.size(), handle.data()) != handle.size()) return -1;
  reinterpret_cast<struct file_handle*>(handle.data())->handle_bytes = head.handle_bytes;  // as sized above
  int m = open(baseOf(tid, mountFd).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // not O_PATH: the call refuses one (EBADF)
  if (m < 0) return -1;
  int fd = open_by_handle_at(m, reinterpret_cast<struct file_handle*>(handle.data()), O_PATH | O_CLOEXEC);
  close(m);
  return fd;
}

}  // namespace

bool Tracer::asksAboutOpen(uint64_t flags) const {
  return cfg_.decideOpens && (flags & O_ACCMODE) != O_WRONLY && (flags & O_DIRECTORY) == 0;
}

bool Tracer::openByHandleEntry(Task& t, const Origin& o) {
  Call& c = t.call;
  c.flags = c.args[2];
  c.created = 0;  // by a handle: an existing file (O_CREAT is ignored)
  bool ask = asksAboutOpen(c.flags);
  if (!ask && openWritten_ == 0) return true;
  // the file the handle names, opened here too: what is written to it without stops is recorded
  // before this open sees or truncates it, and a decision has a name to read it by
  int own = openHandle(t.tid, asFd(c.args[0]), c.args[1]);
  if (own < 0) return true;  // the call fails too (a bad handle), or eyrie may not open handles
  struct stat st;
  int err = 0;
  std::string path;
  if (fstat(own, &st) == 0) {
    if (openWritten_ > 0) syncWritten(inodeOf(st), t.tid, o.ts);
    std::string walk = fdLink(getpid(), own);
    std::string name = fdPath(getpid(), own);
    stripDeleted(name);
    if (ask && S_ISREG(st.st_mode) && passesOpenFilter(name, walk, st)) {
      path = judgedName(name, walk, true);  // no name leads there (unlinked): eyrie's fd, open meanwhile
      err = decide(t, "open_by_handle_at", path, c.flags, o);
    }
  }
  if (err != 0) deny(t, err, "open_by_handle_at", path, o);
  close(own);
  return err == 0;
}

bool Tracer::openEntry(Task& t, const Origin& o, int dirfd, uint64_t pathAddr, uint64_t flags, bool inRoot) {
  Call& c = t.call;
  c.flags = flags;
  bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  // without O_CREAT nothing is created; with O_EXCL success means it was; otherwise look first
  c.created = tmpfile ? 1 : (flags & O_CREAT) == 0 ? 0 : (flags & O_EXCL) != 0 ? 1 : -1;
  // a verdict only where the program may read what is there: not for write-only opens, new files,
  // or directories (O_DIRECTORY: opendir, *at() bases, fts walks; a directory has no content to scan,
  // and each ask is a round trip to JavaScript and a journal commit while the program waits)
  bool ask = asksAboutOpen(flags) && !tmpfile && c.created != 1;
  // a file some task writes without stops: what it holds now is recorded before this open sees or
  // truncates it. An open that neither creates nor truncates it, nor is asked about, changes nothing
  // the tracee can see before its exit: the file is read there, by the fd's own stat, without a
  // look up of the name here (~8 us an open while any file is written: a build's compiler opens
  // hundreds of headers while its output is open, a shell loop's every program its locale files)
  bool written = openWritten_ > 0 && !tmpfile && c.created != 1;
  c.syncAtExit = written && c.created == 0 && (flags & O_TRUNC) == 0 && !ask;
  if (c.syncAtExit) written = false;
  if (c.created != -1 && !ask && !written) return true;
  std::string raw;
  if (!readString(t.tid, pathAddr, raw, PATH_MAX)) return true;
  if (inRoot && !raw.empty()) {
    // the walk below dirfd as the tracee's kernel makes it, then taken as any name from here
    raw = inRootPath(t.tid, dirfd, raw, (flags & O_NOFOLLOW) == 0);
    dirfd = AT_FDCWD;
  }
  std::string walk = walkPath(t.tid, dirfd, raw);
  if (c.created == -1 || written) {
    struct stat st;
    int r = (flags & O_NOFOLLOW) != 0 ? lstat(walk.c_str(), &st) : stat(walk.c_str(), &st);
    if (c.created == -1) c.created = r == 0 ? 0 : errno == ENOENT ? 1 : -1;
    if (r == 0 && written) syncWritten(inodeOf(st), t.tid, o.ts);
  }
  // The filter first, through the tracee's own walk, before the canonical name is worked out (two
  // opens and a readlink; a compiler's include search probes thousands of missing names and reads
  // thousands of headers): a name that is not there, or no regular file, is never asked about, nor
  // one the filter does not pass; a symlink's target decides, so it takes the canonical way.
  bool passed = false;
  if (ask && c.created != 1) {
    struct stat st;
    if (lstat(walk.c_str(), &st) != 0) ask = errno != ENOENT && errno != ENOTDIR;
    else if (!S_ISLNK(st.st_mode)) ask = passed = S_ISREG(st.st_mode) && passesOpenFilter(raw, walk, st);
  }
  if (ask && c.created != 1) {
    bool follow = (flags & O_NOFOLLOW) == 0;
    std::string traced;  // the walk resolvePath made, walked once
    std::string canonical = resolvePath(t.tid, dirfd, raw, follow, &traced);
    std::string path = judgedName(canonical, traced.empty() ? tracedPath(t.tid, dirfd, raw, follow) : traced, follow);
    if (!path.empty() && (passed || cfg_.openFilter.worthAsking(path))) {
      int err = decide(t, openCallName(c.nr), path, flags, o);
      if (err != 0) {
        deny(t, err, openCallName(c.nr), path, o);
        return false;
      }
    }
  }
  return true;
}

// What fd.open's `special` says of a node that is no regular file and no directory; "" for those.
static const char* specialType(mode_t mode) { return S_ISREG(mode) || S_ISDIR(mode) ? "" : typeName(mode); }

void Tracer::openExit(Task& t, int64_t ret, const Origin& o) {
  if (ret < 0) return;  // a failed open created nothing and opened nothing
  Call& c = t.call;
  int fd = static_cast<int>(ret);
  FdEntry e;
  e.flags = static_cast<int>(c.flags & ~static_cast<uint64_t>(O_CLOEXEC));
  e.cloexec = (c.flags & O_CLOEXEC) != 0;
  e.path = fdPath(t.tid, fd);
  // O_TMPFILE, a memfd, or an unlinked file opened again through /proc/PID/fd/N: no name binds it
  bool deleted = stripDeleted(e.path);
  struct stat st;
  bool haveStat = fdStat(t.tid, fd, st);
  if (haveStat) {
    e.regular = S_ISREG(st.st_mode);
    e.inode = inodeOf(st);
    noteAttributes(st);
    if (c.syncAtExit && openWritten_ > 0) syncWritten(e.inode, t.tid, o.ts);  // before the tracee can read it
    if ((c.flags & O_ACCMODE) != O_RDONLY || (c.flags & O_TRUNC) != 0) noteWritable(e.inode);
  }
  if (!e.path.empty() && e.path[0] == '/') {
    // a directory opened without O_DIRECTORY (glibc opens locale directories so) is journaled with
    // it: the fold would otherwise take the name for a file, and then hold names below a file
    uint64_t flags = c.flags | (haveStat && S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
    emit(Kind::FdOpen, o, [&](Record& r) {
      r.num(static_cast<uint64_t>(fd)).str(e.path).num(flags).nullableStr(e.inode);
      r.flag(c.created != -1);
      if (c.created != -1) r.flag(c.created == 1);
      r.flag(deleted);
      r.str(haveStat ? specialType(st.st_mode) : "");
      recordAttributes(r, haveStat ? &st : nullptr);
    });
  }
  bool writable = (c.flags & O_ACCMODE) != O_RDONLY;
  if (e.regular && writable) {
    bool empty = c.created == 1 || (c.flags & O_TRUNC) != 0;  // starts empty: all known
    adoptWritable(t, fd, e, empty, haveStat ? static_cast<uint64_t>(st.st_size) : 0, o);
  } else if (e.regular && (c.flags & O_TRUNC) != 0 && c.created != 1) {
    forgetPages(e.inode, 0, ~0ull);  // O_RDONLY|O_TRUNC truncates too (Linux)
  }
  if (t.fds) t.fds->fds[fd] = e;
}

bool landsAt(pid_t tid, int fd, bool rwfAppend, std::optional<uint64_t> given, uint64_t& offset) {
  // the description's flags now, not the fd's at its open: F_SETFL through a dup or in another
  // process sharing it may have set or cleared O_APPEND
  uint64_t pos;
  int flags;
  if (!fdInfo(tid, fd, pos, flags)) return false;
  if ((flags & O_APPEND) != 0 || rwfAppend) {
    struct stat st;  // appends land at the end, whatever the offset says (pwrite(2), BUGS)
    if (!fdStat(tid, fd, st)) return false;
    offset = static_cast<uint64_t>(st.st_size);
    return true;
  }
  offset = given.value_or(pos);
  return true;
}

bool Tracer::locateWrite(Task& t, int fd, uint64_t& offset) {
  const Call& c = t.call;
  const uint64_t* a = c.args;
  bool positional = c.nr == SYS_write || c.nr == SYS_writev ||
                    (c.nr == SYS_pwritev2 && static_cast<int64_t>(a[3]) == -1);
  return landsAt(t.tid, fd, rwfAppend(c), positional ? std::nullopt : std::optional<uint64_t>(a[3]), offset);
}

bool Tracer::writeEntry(Task& t, const Origin& o) {
  const uint64_t* a = t.call.args;
  int fd = asFd(a[0]);
  FdEntry* e = fdOf(t, fd);
  if (e == nullptr || !e->regular) return false;  // pipes, sockets, ttys: no file state
  if (e->observeWrites && wholeKnown_.count(e->inode) == 0 && locateWrite(t, fd, t.call.offset)) {
    t.call.located = true;
    bool vector = t.call.nr == SYS_writev || t.call.nr == SYS_pwritev || t.call.nr == SYS_pwritev2;
    uint64_t count = vector ? iovLength(t.tid, a[1], a[2]) : a[2];
    preimage(t, fd, *e, t.call.offset, count, o);
  }
  return true;
}

void Tracer::writeExit(Task& t, int64_t ret, const Origin& o) {
  if (ret < 0) return;
  const Call& c = t.call;
  const uint64_t* a = c.args;
  int fd = asFd(a[0]);
  bool positional = c.nr == SYS_write || c.nr == SYS_writev ||
                    (c.nr == SYS_pwritev2 && static_cast<int64_t>(a[3]) == -1);
  bool vector = c.nr == SYS_writev || c.nr == SYS_pwritev || c.nr == SYS_pwritev2;
  size_t n = static_cast<size_t>(ret);
  // a recorded command does not report reads and seeks: where a write at the position lands is said
  bool placed = !positional || (!cfg_.everyCall() && c.located);
  emit(Kind::FileWrite, o, [&](Record& r) {
    r.num(static_cast<uint64_t>(fd)).nullableNum(placed, positional ? c.offset : a[3]).num(n);
    uint8_t* p = r.payload(n);
    // the buffers still hold what was written: read the first ret bytes of them
    r.payloadDone(vector ? readIovecs(t.tid, a[1], a[2], n, p) : readMemory(t.tid, a[1], n, p));
    r.flag(rwfAppend(c));
  });
  FdEntry* e = fdOf(t, fd);
  if (e == nullptr) return;
  if (c.located) noteWritten(e->inode, c.offset, n);
  forgetPages(e->inode, c.located ? c.offset : 0, c.located ? c.offset + n : ~0ull);  // not what a reading saw
}

bool Tracer::copyEntry(Task& t, const Origin& o) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  // (in, in offset pointer, out, out offset pointer) of the three calls
  bool sendfile = c.nr == SYS_sendfile;
  int in = asFd(sendfile ? a[1] : a[0]), out = asFd(sendfile ? a[0] : a[2]);
  uint64_t inOff = sendfile ? a[2] : a[1], outOff = sendfile ? 0 : a[3];
  FdEntry* src = fdOf(t, in);
  bool readMoves = inOff == 0 && wantPositions(src);
  FdEntry* dst = fdOf(t, out);
  if (dst == nullptr || !dst->regular) return readMoves;
  // the bytes are read back from the file at exit: where they land must be known now
  if (outOff != 0 && (dst->flags & O_APPEND) == 0) {
    c.located = readU64(t.tid, outOff, c.offset);
    c.explicitOffset = true;
  } else if ((dst->flags & O_APPEND) != 0) {
    struct stat st;
    c.located = fdStat(t.tid, out, st);
    c.offset = c.located ? static_cast<uint64_t>(st.st_size) : 0;
  } else {
    int flags;
    c.located = fdInfo(t.tid, out, c.offset, flags);
  }
  if (c.located && dst->observeWrites && wholeKnown_.count(dst->inode) == 0)
    preimage(t, out, *dst, c.offset, sendfile ? a[3] : a[4], o);
  return true;
}

void Tracer::copyExit(Task& t, int64_t ret, const Origin& o) {
  if (ret <= 0) return;
  const Call& c = t.call;
  const uint64_t* a = c.args;
  bool sendfile = c.nr == SYS_sendfile;
  int in = asFd(sendfile ? a[1] : a[0]), out = asFd(sendfile ? a[0] : a[2]);
  uint64_t inOff = sendfile ? a[2] : a[1];
  if (inOff == 0 && wantPositions(fdOf(t, in))) emit(Kind::FdRead, o, [&](Record& r) { r.num(in).num(ret); });
  FdEntry* dst = fdOf(t, out);
  if (dst == nullptr || !dst->regular || dst->deferred) return;  // a file read back: the next reading has it
  emitCopied(t, out, *dst, static_cast<size_t>(ret), c.explicitOffset || (!cfg_.everyCall() && c.located), o);
}

bool Tracer::cloneEntry(Task& t, const Origin& o) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  int out = asFd(a[0]);
  FdEntry* dst = fdOf(t, out);
  if (dst == nullptr || !dst->regular) return false;
  int src = asFd(a[2]);
  uint64_t from = 0;
  c.offset = 0;
  if (static_cast<uint32_t>(a[1]) == FICLONERANGE) {
    file_clone_range r;
    if (readMemory(t.tid, a[2], sizeof r, reinterpret_cast<uint8_t*>(&r)) != sizeof r) return false;  // EFAULT
    src = static_cast<int>(r.src_fd);
    from = r.src_offset;
    c.length = r.src_length;
    c.offset = r.dest_offset;
  }
  struct stat st;
  // a length of 0 (and FICLONE) is the rest of the source
  if (c.length == 0) c.length = fdStat(t.tid, src, st) && static_cast<uint64_t>(st.st_size) > from ? static_cast<uint64_t>(st.st_size) - from : 0;
  c.located = c.explicitOffset = true;
  if (dst->observeWrites && wholeKnown_.count(dst->inode) == 0) preimage(t, out, *dst, c.offset, c.length, o);
  return true;
}

void Tracer::cloneExit(Task& t, int64_t ret, const Origin& o) {
  int out = asFd(t.call.args[0]);
  FdEntry* dst = fdOf(t, out);
  if (ret != 0 || dst == nullptr || !dst->regular || dst->deferred || t.call.length == 0) return;
  emitCopied(t, out, *dst, static_cast<size_t>(t.call.length), true, o);
}

void Tracer::emitCopied(Task& t, int out, FdEntry& dst, size_t n, bool placed, const Origin& o) {
  const Call& c = t.call;
  emit(Kind::FileWrite, o, [&](Record& r) {
    r.num(static_cast<uint64_t>(out)).nullableNum(placed, c.offset).num(n);
    uint8_t* p = r.payload(n);
    size_t got = 0;
    int f = c.located ? reopenFd(t.tid, out) : -1;
    if (f >= 0) {
      // the kernel moved the bytes without passing them through the tracee: read them from the file
      while (got < n) {
        ssize_t k = pread(f, p + got, n - got, static_cast<off_t>(c.offset + got));
        if (k <= 0) break;
        got += static_cast<size_t>(k);
      }
      close(f);
    }
    r.payloadDone(got);
    r.flag(false);  // not RWF_APPEND: a copy lands where its offset says
  });
  if (c.located) noteWritten(dst.inode, c.offset, n);
  forgetPages(dst.inode, c.located ? c.offset : 0, c.located ? c.offset + n : ~0ull);
}

bool Tracer::execEntry(Task& t, const Origin& o) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  bool at = c.nr == SYS_execveat;
  int dirfd = at ? asFd(a[0]) : AT_FDCWD;
  int flags = at ? static_cast<int>(a[4]) : 0;
  std::string raw;
  readString(t.tid, at ? a[1] : a[0], raw, PATH_MAX);
  bool byFd = at && (flags & AT_EMPTY_PATH) != 0 && raw.empty();
  bool follow = (flags & AT_SYMLINK_NOFOLLOW) == 0;
  std::string traced;  // the walk resolvePath made, for the decision below
  c.path = byFd ? fdPath(t.tid, dirfd) : resolvePath(t.tid, dirfd, raw, follow, &traced);
  readStringArray(t.tid, at ? a[2] : a[1], c.argv);
  // the old memory goes away with a successful exec: its shared views hold file bytes; its
  // close-on-exec fds close (a mode changed through one shows now: after the exec they are gone)
  if (t.mem && t.mem->sharedFileViews) syncViews(t, 0, ~0ull, o);
  if (t.fds)
    for (const auto& [fd, e] : t.fds->fds)
      if (e.cloexec) attributesAtClose(t, fd, e, o);
  if (!cfg_.decideExec || (raw.empty() && !byFd)) return false;
  // the file the kernel will run, whatever its name: fexecve of a memfd or of an unlinked file has
  // none the host can open, and a file that cannot be judged must not run unjudged
  std::string walk = byFd ? fdLink(t.tid, dirfd) : !traced.empty() ? traced : tracedPath(t.tid, dirfd, raw, true);
  std::string judged = judgedName(c.path, walk, true);
  struct stat st;
  if (!judged.empty() && stat(judged.c_str(), &st) == 0) {
    const char* call = at ? "execveat" : "execve";
    int err = decide(t, call, judged, static_cast<uint64_t>(flags), o, &st);
    if (err != 0) {
      deny(t, err, call, judged, o);
      c.nr = -1;  // no exec follows
    }
  }
  return false;  // success shows as PTRACE_EVENT_EXEC; a failure changes nothing
}

bool Tracer::closeEntry(Task& t, const Origin& o) {
  int fd = asFd(t.call.args[0]);
  // close releases the fd even when it fails (EINTR, EIO), so it is reported here, without an exit
  // stop; an fd that is not open (EBADF) is not reported
  std::string unseen;  // the name of an fd eyrie never looked at (from before the recording), if open
  bool open = t.fds && (t.fds->fds.count(fd) != 0 || !(unseen = fdPath(t.tid, fd)).empty());
  if (!open) return false;
  // a mode or owner changed through it shows now (a pipe or socket has none to look at)
  bool node = unseen.empty() || unseen[0] == '/';
  if (const FdEntry* e = node ? fdOf(t, fd) : nullptr) attributesAtClose(t, fd, *e, o);
  // a view may outlive the fd: what it holds now is recorded before the file loses a handle
  if (!sharedInodes_.empty())
    if (const FdEntry* e = fdOf(t, fd)) syncInode(e->inode, t.tid, o.ts);
  emit(Kind::FdClose, o, [&](Record& r) { r.num(static_cast<uint64_t>(fd)); });
  auto it = t.fds->fds.find(fd);
  std::string written = it != t.fds->fds.end() && it->second.deferred ? it->second.inode : "";
  t.fds->fds.erase(fd);
  if (!written.empty()) settleIfUnheld(written);  // read at this stop (syncAtCall); no holder left: no more writes
  return false;
}

void Tracer::closeRangeExit(Task& t, const Origin& o) {
  const uint64_t* a = t.call.args;
  uint32_t first = static_cast<uint32_t>(a[0]), last = static_cast<uint32_t>(a[1]);
  unsigned flags = static_cast<unsigned>(a[2]);
  bool cloexecOnly = (flags & CLOSE_RANGE_CLOEXEC) != 0;
  if (!t.fds) t.fds = std::make_shared<FdTable>();
  if ((flags & CLOSE_RANGE_UNSHARE) != 0) t.fds = std::make_shared<FdTable>(*t.fds);
  emit(Kind::FdCloseRange, o, [&](Record& r) { r.num(first).num(last).flag(cloexecOnly); });
  for (auto i = t.fds->fds.begin(); i != t.fds->fds.end();) {
    uint32_t fd = static_cast<uint32_t>(i->first);
    if (fd < first || fd > last) ++i;
    else if (cloexecOnly) (i++)->second.cloexec = true;
    else i = t.fds->fds.erase(i);
  }
}

void Tracer::dupExit(Task& t, int64_t ret, const Origin& o) {
  const uint64_t* a = t.call.args;
  int fd = asFd(a[0]);
  long nr = t.call.nr;
  int cmd = static_cast<int>(a[1]);
  if (nr == SYS_fcntl && cmd == F_SETFL) {
    // the description's status flags (O_APPEND decides where later writes land), for a file
    FdEntry* e = fdOf(t, fd);
    if (e == nullptr || !e->regular) return;
    int flags = static_cast<int>(a[2]) & kSetflFlags;
    e->flags = (e->flags & ~kSetflFlags) | flags;
    emit(Kind::FdSetfl, o, [&](Record& r) { r.num(static_cast<uint64_t>(fd)).num(static_cast<uint64_t>(flags)); });
    return;
  }
  if (nr == SYS_ioctl || (nr == SYS_fcntl && cmd == F_SETFD)) {
    bool on = nr == SYS_ioctl ? a[1] == FIOCLEX : (a[2] & FD_CLOEXEC) != 0;
    emit(Kind::FdCloexec, o, [&](Record& r) { r.num(static_cast<uint64_t>(fd)).flag(on); });
    if (FdEntry* e = fdOf(t, fd)) e->cloexec = on;
    return;
  }
  int newFd = static_cast<int>(ret);
  bool cloexec = (nr == SYS_dup3 && (a[2] & O_CLOEXEC) != 0) || (nr == SYS_fcntl && cmd == F_DUPFD_CLOEXEC);
  if (newFd == fd) return;  // dup2(fd, fd) changes nothing
  emit(Kind::FdDup, o, [&](Record& r) { r.num(static_cast<uint64_t>(fd)).num(static_cast<uint64_t>(newFd)).flag(cloexec); });
  FdEntry* e = fdOf(t, fd);
  if (!t.fds) return;
  if (e == nullptr) {
    t.fds->fds.erase(newFd);
    return;
  }
  FdEntry copy = *e;
  copy.cloexec = cloexec;
  t.fds->fds[newFd] = copy;
}

}  // namespace eyrie
