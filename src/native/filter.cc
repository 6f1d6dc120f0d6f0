#include "filter.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <initializer_list>
#include <string>

namespace eyrie {

namespace {

constexpr uint32_t kX32Bit = 0x40000000;

// clone/clone3/fork/vfork/exit/exit_group are absent on purpose: PTRACE_O_TRACE{FORK,VFORK,CLONE}
// and the wait statuses of exiting tasks report them without a seccomp stop.
const std::vector<TracedCall> kCalls = {
    {SYS_open, Rule::Always, "open"},
    {SYS_openat, Rule::Always, "openat"},
    {SYS_openat2, Rule::Always, "openat2"},
    {SYS_creat, Rule::Always, "creat"},
    {SYS_memfd_create, Rule::Always, "memfd_create"},
    {SYS_open_by_handle_at, Rule::Always, "open_by_handle_at"},
    {SYS_io_submit, Rule::Always, "io_submit", true},
    {SYS_write, Rule::Always, "write", true},
    {SYS_pwrite64, Rule::Always, "pwrite64", true},
    {SYS_writev, Rule::Always, "writev", true},
    {SYS_pwritev, Rule::Always, "pwritev", true},
    {SYS_pwritev2, Rule::Always, "pwritev2", true},
    {SYS_close, Rule::Always, "close"},
    {SYS_close_range, Rule::Always, "close_range"},
    {SYS_dup, Rule::Always, "dup"},
    {SYS_dup2, Rule::Always, "dup2"},
    {SYS_dup3, Rule::Always, "dup3"},
    {SYS_fcntl, Rule::FdControl, "fcntl"},
    {SYS_ioctl, Rule::StateIoctl, "ioctl"},
    {SYS_lseek, Rule::MovingSeek, "lseek", true},
    {SYS_read, Rule::Always, "read", true},
    {SYS_readv, Rule::Always, "readv", true},
    {SYS_ftruncate, Rule::Always, "ftruncate"},
    {SYS_truncate, Rule::Always, "truncate"},
    {SYS_fallocate, Rule::Always, "fallocate"},
    {SYS_rename, Rule::Always, "rename"},
    {SYS_renameat, Rule::Always, "renameat"},
    {SYS_renameat2, Rule::Always, "renameat2"},
    {SYS_unlink, Rule::Always, "unlink"},
    {SYS_unlinkat, Rule::Always, "unlinkat"},
    {SYS_link, Rule::Always, "link"},
    {SYS_linkat, Rule::Always, "linkat"},
    {SYS_symlink, Rule::Always, "symlink"},
    {SYS_symlinkat, Rule::Always, "symlinkat"},
    {SYS_mkdir, Rule::Always, "mkdir"},
    {SYS_mkdirat, Rule::Always, "mkdirat"},
    {SYS_mknod, Rule::Always, "mknod"},
    {SYS_mknodat, Rule::Always, "mknodat"},
    {SYS_bind, Rule::Always, "bind"},  // a Unix socket bound to a name makes a node there
    {SYS_rmdir, Rule::Always, "rmdir"},
    // a mode or owner changed by name; one changed through a descriptor (fchmod, fchown) is seen
    // when it is closed (attributes.cc)
    {SYS_chmod, Rule::Always, "chmod"},
    {SYS_fchmodat, Rule::Always, "fchmodat"},
    {SYS_fchmodat2, Rule::Always, "fchmodat2"},
    {SYS_chown, Rule::Always, "chown"},
    {SYS_lchown, Rule::Always, "lchown"},
    {SYS_fchownat, Rule::Always, "fchownat"},
    {SYS_fsync, Rule::Always, "fsync"},
    {SYS_fdatasync, Rule::Always, "fdatasync"},
    {SYS_sync_file_range, Rule::Always, "sync_file_range"},
    {SYS_mmap, Rule::FileMapping, "mmap"},
    {SYS_munmap, Rule::Always, "munmap"},
    {SYS_mremap, Rule::Always, "mremap"},
    {SYS_mprotect, Rule::Always, "mprotect"},
    {SYS_msync, Rule::Always, "msync"},
    {SYS_madvise, Rule::RemoveAdvice, "madvise"},
    {SYS_execve, Rule::Always, "execve"},
    {SYS_execveat, Rule::Always, "execveat"},
    {SYS_copy_file_range, Rule::Always, "copy_file_range"},
    {SYS_sendfile, Rule::Always, "sendfile"},
    {SYS_splice, Rule::Always, "splice"},
    {SYS_chdir, Rule::Always, "chdir"},
    {SYS_fchdir, Rule::Always, "fchdir"},
    // io_uring: what a ring carries out makes no call eyrie sees; these say which processes use one
    // (setup: a new ring; enter/register: a ring inherited or received, reported once per process)
    {SYS_io_uring_setup, Rule::Always, "io_uring_setup"},
    {SYS_io_uring_enter, Rule::Always, "io_uring_enter"},
    {SYS_io_uring_register, Rule::Always, "io_uring_register"},
};

constexpr uint32_t argLo(int i) { return offsetof(struct seccomp_data, args) + 8 * i; }
constexpr uint32_t argHi(int i) { return argLo(i) + 4; }

/** A tiny assembler: jumps name labels; offsets are resolved at the end (BPF jumps are 8 bits). */
class Asm {
 public:
  enum Label : int { Next = -1, Allow = 0, Trace = 1, NoSys = 2 };

  void load(uint32_t off) { emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off), Next, Next); }
  void jeq(uint32_t k, int yes, int no) { emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0), yes, no); }
  void jset(uint32_t k, int yes, int no) { emit(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, 0, 0), yes, no); }
  /** To `yes` when the loaded word is one of ks, else to `no`. */
  void jeqAny(std::initializer_list<uint32_t> ks, int yes, int no) {
    size_t left = ks.size();
    for (uint32_t k : ks) jeq(k, yes, --left == 0 ? no : Next);
  }
  void ret(uint32_t k) { emit(BPF_STMT(BPF_RET | BPF_K, k), Next, Next); }
  /** A fresh label to bind later. */
  int label() {
    at_.push_back(-1);
    return static_cast<int>(at_.size()) - 1;
  }
  void bind(int l) { at_[l] = static_cast<int>(code_.size()); }

  std::vector<sock_filter> finish() {
    for (size_t pc = 0; pc < code_.size(); pc++) {
      code_[pc].jt = offset(pc, targets_[pc].first);
      code_[pc].jf = offset(pc, targets_[pc].second);
    }
    return code_;
  }

  Asm() : at_(3, -1) {}

 private:
  void emit(sock_filter f, int yes, int no) {
    code_.push_back(f);
    targets_.emplace_back(yes, no);
  }
  uint8_t offset(size_t pc, int l) {
    if (l == Next) return 0;
    long d = static_cast<long>(at_[l]) - static_cast<long>(pc) - 1;
    if (at_[l] < 0 || d < 0 || d > 255) abort();  // a bug in the table layout, not a runtime condition
    return static_cast<uint8_t>(d);
  }
  std::vector<sock_filter> code_;
  std::vector<std::pair<int, int>> targets_;
  std::vector<int> at_;
};

}  // namespace

const std::vector<TracedCall>& tracedCalls() { return kCalls; }

std::vector<sock_filter> buildFilter(bool everyCall) {
  Asm a;
  a.load(offsetof(struct seccomp_data, arch));
  a.jeq(AUDIT_ARCH_X86_64, Asm::Next, Asm::NoSys);
  a.load(offsetof(struct seccomp_data, nr));
  a.jset(kX32Bit, Asm::NoSys, Asm::Next);
  std::vector<int> blocks;
  for (const auto& c : kCalls) {
    if (c.attachOnly && !everyCall) {
      blocks.push_back(-1);
      continue;
    }
    int rule = c.rule == Rule::Always ? static_cast<int>(Asm::Trace) : a.label();
    blocks.push_back(rule);
    a.jeq(static_cast<uint32_t>(c.nr), rule, Asm::Next);
  }
  a.bind(Asm::Allow);
  a.ret(SECCOMP_RET_ALLOW);
  a.bind(Asm::Trace);
  a.ret(SECCOMP_RET_TRACE);
  a.bind(Asm::NoSys);
  a.ret(SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
  // Rule blocks come after the shared returns and BPF jumps only forward: each block ends in its own.
  for (size_t i = 0; i < kCalls.size(); i++) {
    if (kCalls[i].rule == Rule::Always || (kCalls[i].attachOnly && !everyCall)) continue;
    a.bind(blocks[i]);
    int allow = a.label(), trace = a.label();
    switch (kCalls[i].rule) {
      case Rule::FileMapping:
        // files, and MAP_FIXED anonymous memory (it may replace a file view)
        a.load(argLo(3));
        a.jset(MAP_ANONYMOUS, Asm::Next, trace);
        a.jset(MAP_FIXED, trace, allow);
        break;
      case Rule::FdControl:
        a.load(argLo(1));
        a.jeqAny({F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, F_SETFL}, trace, allow);
        break;
      case Rule::MovingSeek:
        a.load(argLo(2));
        a.jeq(SEEK_CUR, Asm::Next, trace);
        a.load(argLo(1));
        a.jeq(0, Asm::Next, trace);
        a.load(argHi(1));
        a.jeq(0, allow, trace);
        break;
      case Rule::StateIoctl:
        a.load(argLo(1));
        a.jeqAny({FIOCLEX, FIONCLEX, FICLONE, FICLONERANGE, LOOP_SET_FD, LOOP_CHANGE_FD, LOOP_CONFIGURE}, trace, allow);
        break;
      case Rule::RemoveAdvice:
        a.load(argLo(2));
        a.jeq(MADV_REMOVE, trace, allow);
        break;
      case Rule::Always:
        break;
    }
    a.bind(allow);
    a.ret(SECCOMP_RET_ALLOW);
    a.bind(trace);
    a.ret(SECCOMP_RET_TRACE);
  }
  return a.finish();
}

int exposedFd(long nr, const uint64_t args[6], bool& all) {
  all = nr == SYS_execve || nr == SYS_execveat || nr == SYS_close_range;
  switch (nr) {
    case SYS_close:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_sync_file_range:
    case SYS_ftruncate:
    case SYS_fallocate:
    case SYS_copy_file_range:
    case SYS_splice: return static_cast<int>(args[0]);
    case SYS_dup2:
    case SYS_dup3:
    case SYS_sendfile: return static_cast<int>(args[1]);
    case SYS_mmap: return static_cast<int>(args[4]);
    default: return -1;
  }
}

bool letsGo(long nr) {
  return nr == SYS_close || nr == SYS_close_range || nr == SYS_dup2 || nr == SYS_dup3 || nr == SYS_execve || nr == SYS_execveat;
}

bool isClone(uint64_t request) {
  uint32_t req = static_cast<uint32_t>(request);
  return req == FICLONE || req == FICLONERANGE;
}

bool isLoopAttach(uint64_t request) {
  uint32_t req = static_cast<uint32_t>(request);
  return req == LOOP_SET_FD || req == LOOP_CHANGE_FD || req == LOOP_CONFIGURE;
}

bool isWriteCall(long nr) {
  return nr == SYS_write || nr == SYS_pwrite64 || nr == SYS_writev || nr == SYS_pwritev || nr == SYS_pwritev2;
}

bool wantsCall(long nr, const uint64_t args[6], bool attach) {
  for (const auto& c : kCalls) {
    if (c.nr != nr) continue;
    if (c.attachOnly && !attach) return false;
    switch (c.rule) {
      case Rule::Always: return true;
      case Rule::FileMapping: {
        uint32_t flags = static_cast<uint32_t>(args[3]);
        return (flags & MAP_ANONYMOUS) == 0 || (flags & MAP_FIXED) != 0;
      }
      case Rule::FdControl: {
        uint32_t cmd = static_cast<uint32_t>(args[1]);
        return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC || cmd == F_SETFD || cmd == F_SETFL;
      }
      case Rule::MovingSeek: return !(static_cast<uint32_t>(args[2]) == SEEK_CUR && args[1] == 0);
      case Rule::StateIoctl: {
        uint32_t req = static_cast<uint32_t>(args[1]);
        return req == FIOCLEX || req == FIONCLEX || isClone(req) || isLoopAttach(req);
      }
      case Rule::RemoveAdvice: return static_cast<uint32_t>(args[2]) == MADV_REMOVE;
    }
  }
  return false;
}

const char* callName(long nr) {
  for (const auto& c : kCalls)
    if (c.nr == nr) return c.name;
  return nullptr;
}

}  // namespace eyrie
