// One handler per system call: at entry, what must be read before the call changes it (paths,
// old bytes) and whether its exit matters; at exit, the event when the call succeeded. A failed
// call (negative return) changes no state and yields no event.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/falloc.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/user.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>

#include "filter.h"
#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

// io_uring_register's opcode flag for a registered ring index in place of an fd (Linux 6.3; older
// headers lack it)
constexpr uint64_t kRegisterUseRegisteredRing = 1ull << 31;

const char kRingLink[] = "anon_inode:[io_uring]";
}  // namespace

void Tracer::noteIoUring(Task& t, UringVia via, int fd, const Origin& o) {
  // a ring made here is reported each time (rings are few); a use of another once per process
  if (via != UringVia::Setup && uringUsers_.count(t.tgid) != 0) return;
  // enter/register on an fd that is not a ring fails and uses nothing
  if (fd >= 0 && via != UringVia::Setup && fdPath(t.tid, fd) != kRingLink) return;
  uringUsers_.insert(t.tgid);
  emit(Kind::ProcIoUring, o, [&](Record& r) { r.byte(static_cast<uint8_t>(via)).nullableNum(fd >= 0, static_cast<uint64_t>(fd)); });
}

void Tracer::findRings(pid_t pid, const Origin& o) {
  // attach: rings made before eyrie came are fds whose link names the io_uring anonymous inode
  for (int fd : openFds(pid)) {
    if (fdPath(pid, fd) != kRingLink) continue;
    uringUsers_.insert(pid);
    emit(Kind::ProcIoUring, o, [&](Record& r) { r.byte(static_cast<uint8_t>(UringVia::Held)).nullableNum(true, static_cast<uint64_t>(fd)); });
  }
}

std::string Tracer::pathArg(Task& t, int dirfd, uint64_t addr, bool followLast) {
  std::string raw;
  if (!readString(t.tid, addr, raw, PATH_MAX)) return "";
  return resolvePath(t.tid, dirfd, raw, followLast);
}

std::string Tracer::unixSocketName(Task& t, uint64_t addr, uint32_t len) {
  sockaddr_un sa{};
  size_t n = std::min<size_t>(len, sizeof sa);
  size_t at = offsetof(sockaddr_un, sun_path);
  // an unnamed socket (no path) and an abstract one (a leading NUL) make no node
  if (n <= at || readMemory(t.tid, addr, n, reinterpret_cast<uint8_t*>(&sa)) != n || sa.sun_family != AF_UNIX || sa.sun_path[0] == 0) return "";
  return resolvePath(t.tid, AT_FDCWD, std::string(sa.sun_path, strnlen(sa.sun_path, n - at)), false);
}

bool Tracer::wantPositions(const FdEntry* e) const {
  // a recorded command does not stop at reads and seeks (filter.h): positions are not followed
  return cfg_.everyCall() && e != nullptr && e->regular && (cfg_.readPositionsOfReadOnly || (e->flags & O_ACCMODE) != O_RDONLY);
}

FdEntry* Tracer::fdOf(Task& t, int fd) {
  if (fd < 0 || !t.fds) return nullptr;
  auto it = t.fds->fds.find(fd);
  if (it != t.fds->fds.end()) return &it->second;
  // an fd eyrie did not see opened (inherited, or made by a call it does not trace): ask /proc once
  FdEntry e;
  e.path = fdPath(t.tid, fd);
  if (e.path.empty()) return nullptr;
  struct stat st;
  if (fdStat(t.tid, fd, st)) {
    e.regular = S_ISREG(st.st_mode);
    e.inode = inodeOf(st);
  }
  uint64_t pos;
  int flags = 0;
  if (fdInfo(t.tid, fd, pos, flags)) {
    e.flags = flags & ~O_CLOEXEC;
    e.cloexec = (flags & O_CLOEXEC) != 0;
  }
  // a writable fd that came from elsewhere (a passed descriptor): its writes get stops and pre-images
  e.observeWrites = e.regular && (e.flags & O_ACCMODE) != O_RDONLY && wholeKnown_.count(e.inode) == 0;
  return &(t.fds->fds[fd] = e);
}

int Tracer::decide(Task& t, const char* call, const std::string& path, uint64_t flags, const Origin& o, const struct stat* known) {
  // a verdict JavaScript lent may answer at once (admissions.cc); the stat is taken before the
  // question (or given: the exec's, just taken), so a change while JavaScript reads the file shows
  // at the next one
  struct stat st{};
  if (known != nullptr) st = *known;
  bool lendable = cfg_.admitNs > 0 && (known != nullptr || stat(path.c_str(), &st) == 0) && S_ISREG(st.st_mode);
  if (lendable && readmit(call, path, st, o)) {
    stats_.loan();
    return 0;
  }
  lendable = lendable && !heldWritable(inodeOf(st));
  uint64_t asked = writableEpoch_;
  // an exec's loan holds only with its ELF interpreter's (admissions.cc), lent from a stat taken
  // before the question as well
  std::optional<std::string> ptInterp;  // as the program names it
  std::string interp;                   // as a decision names it
  struct stat ist{};
  if (lendable && isExecCall(call)) {
    ptInterp = elfInterpreter(path);
    if (ptInterp && !ptInterp->empty()) interp = nameForTask(t.tid, *ptInterp);
    if (!interp.empty() && !(stat(interp.c_str(), &ist) == 0 && S_ISREG(ist.st_mode) && !heldWritable(inodeOf(ist)))) interp.clear();
  }
  // the verdict is on the content as the program will see it: stores through live views and writes
  // not yet read back included
  syncFile(path, t.tid, nowNs());
  auto* m = new Message(Message::Type::Decide);
  m->decide = DecideRequest{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), call, path, flags};
  // a stop request cancels the question: the tracees are being killed or let go anyway
  std::string note;
  uint64_t askedAt = monotonicNs();
  int err = static_cast<int>(ch_.ask(m, 0, &note));
  stats_.question(monotonicNs() - askedAt);
  denialJournaled_ = err != 0 && note == "journaled";
  auto lent = err == 0 && lendable ? noteOf(note) : std::nullopt;
  if (lent) {
    uint64_t now = monotonicNs();
    Admission& program = lend(path, st, asked, *lent, now);
    program.interp = ptInterp;
    if (!interp.empty() && lent->interp == interp) {
      program.interpLoan = interp;  // (a reference into admissions_: set before the next lend)
      lend(interp, ist, asked, Note{lent->interpSha256, true, "", ""}, now);
    }
  }
  return err;
}

void Tracer::deny(Task& t, int err, const char* call, const std::string& path, const Origin& o) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, t.tid, 0, &regs) != 0) return;
  // call number -1 skips the call; the return register then is what the program sees
  regs.orig_rax = static_cast<unsigned long long>(-1);
  regs.rax = static_cast<unsigned long long>(-static_cast<long long>(err));
  if (ptrace(PTRACE_SETREGS, t.tid, 0, &regs) != 0) return;
  // the decider journaled it already (with the verdict that explains it): not twice
  if (!denialJournaled_) emit(Kind::AccessDenied, o, [&](Record& r) { r.str(path).str(call).sint(err); });
}

bool Tracer::entry(Task& t, const Origin& o) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  switch (c.nr) {
    case SYS_open: return openEntry(t, o, AT_FDCWD, a[0], a[1]);
    case SYS_openat: return openEntry(t, o, asFd(a[0]), a[1], a[2]);
    case SYS_openat2: {
      open_how how{};
      if (readMemory(t.tid, a[2], sizeof how, reinterpret_cast<uint8_t*>(&how)) != sizeof how) return true;
      return openEntry(t, o, asFd(a[0]), a[1], how.flags, (how.resolve & RESOLVE_IN_ROOT) != 0);
    }
    case SYS_creat: return openEntry(t, o, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC);
    case SYS_open_by_handle_at: return openByHandleEntry(t, o);
    case SYS_io_submit: return aioSubmitEntry(t, o);
    case SYS_memfd_create:
      // a new file with no name, open for reading and writing: journaled as an open that created it
      c.flags = O_RDWR | ((a[1] & MFD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
      c.created = 1;
      return true;
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2: return writeEntry(t, o);
    case SYS_read:
    case SYS_readv: return wantPositions(fdOf(t, asFd(a[0])));
    case SYS_lseek: return wantPositions(fdOf(t, asFd(a[0])));
    case SYS_close: return closeEntry(t, o);
    case SYS_close_range:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_fcntl:
    case SYS_ftruncate:
    case SYS_fallocate:
      // stores through views of the file come before the size change or the hole
      if (const FdEntry* e = fdOf(t, asFd(a[0]))) syncInode(e->inode, t.tid, o.ts);
      return true;
    case SYS_ioctl:
      // stores through views of the file come before a clone into it, as before a write
      if (const FdEntry* e = fdOf(t, asFd(a[0]))) syncInode(e->inode, t.tid, o.ts);
      return isClone(a[1]) ? cloneEntry(t, o) : true;
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_sync_file_range:
    case SYS_chdir:
    case SYS_fchdir:
      if (t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      return true;
    case SYS_mremap:
      if (t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      // a move to a place of its choosing lands where nothing was mapped
      return mayHoldView(t, a[0], a[1]) || ((a[3] & MREMAP_FIXED) != 0 && mayHoldView(t, a[4], a[2]));
    case SYS_mprotect:
      // once a view is read-only its earlier stores no longer show as a shared writable mapping
      if ((a[2] & PROT_WRITE) == 0 && t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      return mayHoldView(t, a[0], a[1]);
    case SYS_truncate: {
      c.path = pathArg(t, AT_FDCWD, a[0], true);
      struct stat st;
      bool found = (cfg_.admitNs > 0 || !sharedInodes_.empty() || openWritten_ > 0) && !c.path.empty() && stat(c.path.c_str(), &st) == 0;
      if (found) noteWritable(inodeOf(st));
      if (found && (!sharedInodes_.empty() || openWritten_ > 0)) {
        syncInode(inodeOf(st), t.tid, o.ts);
        syncWritten(inodeOf(st), t.tid, o.ts);
      }
      return true;
    }
    case SYS_rename:
      c.path = pathArg(t, AT_FDCWD, a[0], false);
      c.path2 = pathArg(t, AT_FDCWD, a[1], false);
      return true;
    case SYS_renameat:
    case SYS_renameat2:
      c.path = pathArg(t, asFd(a[0]), a[1], false);
      c.path2 = pathArg(t, asFd(a[2]), a[3], false);
      return true;
    case SYS_unlink:
    case SYS_rmdir: c.path = pathArg(t, AT_FDCWD, a[0], false); return true;
    case SYS_unlinkat: c.path = pathArg(t, asFd(a[0]), a[1], false); return true;
    case SYS_mkdir:
    case SYS_mkdirat: {
      // `mkdir -p`-style callers (7z, tar) ask for every parent of every file: a name that exists
      // now cannot be made, so no exit stop for it, and its canonical name is not worked out (one
      // removed in between would go unrecorded: the window is between this stop and the call). A
      // name made in between fails the call with EEXIST, which the exit does not journal
      int dirfd = c.nr == SYS_mkdir ? AT_FDCWD : asFd(a[0]);
      std::string raw;
      if (!readString(t.tid, c.nr == SYS_mkdir ? a[0] : a[1], raw, PATH_MAX)) return true;
      if (existsFor(t.tid, dirfd, raw)) return false;
      c.path = resolvePath(t.tid, dirfd, raw, false);
      return !readLater(t);
    }
    case SYS_symlink:
    case SYS_symlinkat:
    case SYS_mknod:
    case SYS_mknodat:
    case SYS_bind: return true;  // what they create is named at exit, when they succeeded
    case SYS_chmod:
    case SYS_fchmodat:
    case SYS_fchmodat2:
    case SYS_chown:
    case SYS_lchown:
    case SYS_fchownat: return attributesEntry(t);
    case SYS_link:
      c.path = pathArg(t, AT_FDCWD, a[0], false);
      c.path2 = pathArg(t, AT_FDCWD, a[1], false);
      return true;
    case SYS_linkat: {
      int flags = static_cast<int>(a[4]);
      std::string raw;
      bool read = readString(t.tid, a[1], raw, PATH_MAX);
      bool byFd = (flags & AT_EMPTY_PATH) != 0 && read && raw.empty();
      c.path = byFd ? fdPath(t.tid, asFd(a[0])) : read ? resolvePath(t.tid, asFd(a[0]), raw, (flags & AT_SYMLINK_FOLLOW) != 0) : "";
      if (stripDeleted(c.path)) {
        // a file with no name (O_TMPFILE, unlinked) given one: the fold finds it by its inode
        struct stat st;
        std::string walk = byFd ? fdLink(t.tid, asFd(a[0])) : walkPath(t.tid, asFd(a[0]), raw);
        if (stat(walk.c_str(), &st) == 0) c.inode = inodeOf(st);
      }
      c.path2 = pathArg(t, asFd(a[2]), a[3], false);
      return true;
    }
    case SYS_mmap: {
      // MAP_FIXED replaces what was mapped there: stores in a shared view it replaces are read first
      if ((a[3] & MAP_FIXED) != 0 && t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      if ((a[3] & MAP_ANONYMOUS) != 0) return (a[3] & MAP_FIXED) != 0 && mayHoldView(t, a[0], a[1]);
      if ((a[3] & MAP_FIXED) != 0) return true;  // whatever it maps replaces what was there
      const FdEntry* e = fdOf(t, asFd(a[4]));
      return e != nullptr && e->regular;
    }
    case SYS_munmap:
      if (t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      return mayHoldView(t, a[0], a[1]);
    case SYS_msync:
      // a shared view's pages are the file's page cache: what they hold now is the file's content
      if (t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      return false;
    case SYS_madvise:  // MADV_REMOVE (the filter's rule): stores through the views come before the hole
      if (t.mem && t.mem->sharedFileViews) syncViews(t, a[0], a[0] + a[1], o);
      return true;
    case SYS_execve:
    case SYS_execveat: return execEntry(t, o);
    case SYS_copy_file_range:
    case SYS_sendfile:
    case SYS_splice: return copyEntry(t, o);
    case SYS_io_uring_setup: return true;  // the ring's fd comes at exit
    case SYS_io_uring_enter:
      noteIoUring(t, UringVia::Enter, (a[3] & IORING_ENTER_REGISTERED_RING) != 0 ? -1 : asFd(a[0]), o);
      return false;
    case SYS_io_uring_register:
      noteIoUring(t, UringVia::Register, (a[1] & kRegisterUseRegisteredRing) != 0 ? -1 : asFd(a[0]), o);
      return false;
    default: return false;
  }
}

void Tracer::exit(Task& t, int64_t ret, const Origin& o) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  long nr = c.nr;
  if (nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat || nr == SYS_memfd_create || nr == SYS_open_by_handle_at) return openExit(t, ret, o);
  if (nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev || nr == SYS_pwritev2)
    return writeExit(t, ret, o);
  if (nr == SYS_copy_file_range || nr == SYS_sendfile || nr == SYS_splice) return copyExit(t, ret, o);
  if (nr == SYS_ioctl && isClone(a[1])) return cloneExit(t, ret, o);
  if (nr == SYS_ioctl && isLoopAttach(a[1])) return loopExit(t, ret, o);
  if (nr == SYS_io_submit) return aioSubmitExit(t, ret, o);
  if (nr == SYS_mmap) {
    // mmap returns an address: only -4095..-1 are errors
    if (static_cast<uint64_t>(ret) > static_cast<uint64_t>(-4096)) return;
  } else if (ret < 0) {
    if (nr == SYS_mprotect) protectedInPart(t, a[0], a[1], o);  // it may have changed a part
    if (nr == SYS_mremap && (a[3] & MREMAP_FIXED) != 0 && ret != -EINVAL) {
      // past its checks of the arguments (EINVAL) it may have unmapped where it moves to, dropped
      // the tail and moved some mappings before it failed
      remapFromProc(t, a[0], a[0] + a[1], o);
      remapFromProc(t, a[4], a[4] + a[2], o);
    }
    return;  // a failed call changed nothing
  }
  int fd = asFd(a[0]);
  switch (nr) {
    case SYS_read:
    case SYS_readv:
      if (ret > 0) emit(Kind::FdRead, o, [&](Record& r) { r.num(fd).num(ret); });
      return;
    case SYS_lseek: emit(Kind::FdSeek, o, [&](Record& r) { r.num(fd).num(ret); }); return;
    case SYS_close_range: return closeRangeExit(t, o);
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_fcntl:
    case SYS_ioctl: return dupExit(t, ret, o);
    case SYS_ftruncate:
      emit(Kind::FileTruncate, o, [&](Record& r) { r.flag(false).flag(true).num(fd).num(a[1]); });
      if (const FdEntry* e = fdOf(t, fd)) forgetPages(e->inode, a[1], ~0ull);
      return;
    case SYS_truncate: {
      if (!c.path.empty()) emit(Kind::FileTruncate, o, [&](Record& r) { r.flag(true).str(c.path).flag(false).num(a[1]); });
      struct stat st;
      if (!c.path.empty() && stat(c.path.c_str(), &st) == 0) forgetPages(inodeOf(st), a[1], ~0ull);
      return;
    }
    case SYS_fallocate: {
      emit(Kind::FileAllocate, o, [&](Record& r) { r.num(fd).num(static_cast<uint32_t>(a[1])).num(a[2]).num(a[3]); });
      // COLLAPSE_RANGE and INSERT_RANGE move every byte after the range: what was known of those pages is stale
      bool moves = (a[1] & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) != 0;
      if (const FdEntry* e = fdOf(t, fd)) forgetPages(e->inode, a[2], moves ? ~0ull : a[2] + a[3]);
      return;
    }
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_sync_file_range: emit(Kind::FileFlush, o, [&](Record& r) { r.num(fd); }); return;
    case SYS_chdir:
    case SYS_fchdir: {
      std::string cwd = cwdOf(t.tid);
      if (!cwd.empty() && cwd[0] == '/') emit(Kind::ProcChdir, o, [&](Record& r) { r.str(cwd); });
      return;
    }
    case SYS_rename:
    case SYS_renameat:
    case SYS_renameat2: {
      uint64_t flags = nr == SYS_renameat2 ? static_cast<uint32_t>(a[4]) : 0;
      if (!c.path.empty() && !c.path2.empty())
        emit(Kind::FileRename, o, [&](Record& r) {
          // what moved, for a source eyrie never saw (a directory that existed before is one)
          struct stat st;
          r.str(c.path).str(c.path2).num(flags).str(lstat(c.path2.c_str(), &st) == 0 ? typeName(st.st_mode) : "");
        });
      return;
    }
    case SYS_unlink:
    case SYS_unlinkat:
    case SYS_rmdir: {
      bool dir = nr == SYS_rmdir || (nr == SYS_unlinkat && (a[2] & AT_REMOVEDIR) != 0);
      if (!c.path.empty()) emit(dir ? Kind::FileRmdir : Kind::FileUnlink, o, [&](Record& r) { r.str(c.path); });
      return;
    }
    case SYS_mkdir:
    case SYS_mkdirat: {
      if (c.path.empty()) return;  // named at entry; its mode is the call's less the umask: a stat says
      struct stat st;
      bool seen = stat(c.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      dirMade(c.path, seen ? &st : nullptr, o);
      return;
    }
    case SYS_chmod:
    case SYS_fchmodat:
    case SYS_fchmodat2:
    case SYS_chown:
    case SYS_lchown:
    case SYS_fchownat: return attributesExit(t, o);
    case SYS_link:
    case SYS_linkat:
      if (!c.path.empty() && !c.path2.empty()) emit(Kind::FileLink, o, [&](Record& r) { r.str(c.path).str(c.path2).nullableStr(c.inode); });
      return;
    case SYS_symlink:
    case SYS_symlinkat: {
      std::string target;
      if (!readString(t.tid, a[0], target, PATH_MAX)) return;
      std::string path = nr == SYS_symlink ? pathArg(t, AT_FDCWD, a[1], false) : pathArg(t, asFd(a[1]), a[2], false);
      if (!path.empty()) emit(Kind::FileSymlink, o, [&](Record& r) { r.str(target).str(path); });
      attributesMade(path, o);  // its owner (a symlink's mode is always 0777)
      return;
    }
    case SYS_mknod:
    case SYS_mknodat: {
      bool at = nr == SYS_mknodat;
      std::string path = pathArg(t, at ? asFd(a[0]) : AT_FDCWD, a[at ? 1 : 0], false);
      uint64_t mode = static_cast<uint32_t>(a[at ? 2 : 1]), dev = static_cast<uint32_t>(a[at ? 3 : 2]);
      if (!path.empty()) emit(Kind::FileMknod, o, [&](Record& r) { r.str(path).num(mode).num((mode & S_IFMT) == S_IFCHR || (mode & S_IFMT) == S_IFBLK ? dev : 0); });
      attributesMade(path, o);  // the call's mode less the umask, and its owner
      return;
    }
    case SYS_bind: {
      std::string path = unixSocketName(t, a[1], static_cast<uint32_t>(a[2]));
      if (!path.empty()) emit(Kind::FileMknod, o, [&](Record& r) { r.str(path).num(S_IFSOCK).num(0); });
      attributesMade(path, o);
      return;
    }
    case SYS_mmap: {
      FdEntry* e = (a[3] & MAP_ANONYMOUS) != 0 ? nullptr : fdOf(t, asFd(a[4]));
      if (e == nullptr || !e->regular) {
        // anonymous memory and devices are not tracked, but MAP_FIXED puts them where a file view may have been
        if ((a[3] & MAP_FIXED) != 0) {
          emit(Kind::ViewUnmap, o, [&](Record& r) { r.num(static_cast<uint64_t>(ret)).num(a[1]); });
          if (t.mem) t.mem->views.remove(ret, AddressRanges::pageEnd(ret, a[1]));
        }
        return;
      }
      int type = static_cast<int>(a[3]) & MAP_TYPE;
      bool shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
      // a shared view of a file opened read-only can never store (mprotect cannot make it writable):
      // nothing to read out of it (glibc maps gconv-modules.cache so for every program using iconv,
      // and each of its munmaps then read the memory's maps)
      if (shared && (e->flags & O_ACCMODE) != O_RDONLY) noteSharedMapping(t, e->inode);
      std::string path = fdPath(t.tid, asFd(a[4]));
      if (path.empty() || path[0] != '/') return;
      bool deleted = stripDeleted(path);  // a file unlinked (or renamed over) since it was opened
      emit(Kind::ViewMap, o, [&](Record& r) {
        r.num(static_cast<uint64_t>(ret)).num(a[1]).num(static_cast<uint32_t>(a[2])).flag(shared).str(path);
        r.nullableStr(e->inode).num(a[5]).flag(deleted);
      });
      if (t.mem) t.mem->views.add(ret, AddressRanges::pageEnd(ret, a[1]));
      return;
    }
    case SYS_munmap:
      emit(Kind::ViewUnmap, o, [&](Record& r) { r.num(a[0]).num(a[1]); });
      if (t.mem) t.mem->views.remove(a[0], AddressRanges::pageEnd(a[0], a[1]));
      return;
    case SYS_madvise:
      emit(Kind::ViewRemove, o, [&](Record& r) { r.num(a[0]).num(a[1]); });
      holesPunched(t, a[0], a[0] + a[1]);
      return;
    case SYS_mremap:
      emit(Kind::ViewRemap, o, [&](Record& r) { r.num(a[0]).num(a[1]).num(static_cast<uint64_t>(ret)).num(a[2]); });
      if (t.mem) t.mem->views.add(ret, AddressRanges::pageEnd(ret, a[2]));  // what moved (the old place may keep some: a superset)
      return;
    case SYS_io_uring_setup: noteIoUring(t, UringVia::Setup, static_cast<int>(ret), o); return;
    case SYS_mprotect:
      emit(Kind::ViewProtect, o, [&](Record& r) { r.num(a[0]).num(a[1]).num(static_cast<uint32_t>(a[2])); });
      return;
    default: return;
  }
}

}  // namespace eyrie
