// Journal order = kernel order, per file. Calls are journaled at their exit stops, in the order the
// tracer handles those stops. Two tasks writing one file at once (threads through one shared
// description, O_APPEND writers) can return in one order and be handled in the other, and the fold
// would put their bytes in each other's places; so can a read or lseek moving the position of a
// description another task writes through. So such calls take turns: a task that reaches the entry
// of one while a conflicting call is between its entry and exit stays stopped at its entry until that
// call's exit has been handled (journaled). Conflicting means what the kernel itself serialises:
//   - two write-class calls on one inode (write family, ftruncate, fallocate, a copy from a regular
//     file into it): the inode lock;
//   - any two calls on one open file description (a write and a read or lseek that moves its
//     position, or two of those): its position lock (f_pos_lock). kcmp(KCMP_FILE) tells descriptions
//     apart across processes.
// So eyrie makes no call wait for one the kernel would not make it wait for, only longer (until the
// tracer has handled the exit), and introduces no new cycle; a splice or sendfile from a pipe or a
// socket, which can block on its source without the file's lock, takes no turn (its order against
// others on the file is not guaranteed). A turn ends when its call's exit was handled, or when its
// task exits, dies, execs away or is let go: a waiting task never waits for a task that is gone.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "tracer.h"

namespace eyrie {

namespace {

/** Do these fds (of two tasks) refer to the same open file description? Unsure counts as yes. */
bool sameDescription(pid_t a, int fa, pid_t b, int fb) {
  long r = syscall(SYS_kcmp, a, b, KCMP_FILE, fa, fb);
  return r != 1 && r != 2;  // 0: the same; 1, 2: an order between different ones; -1: unknown
}

}  // namespace

bool Tracer::serialCall(Task& t, std::string& inode, int& fd, bool& write) {
  const uint64_t* a = t.call.args;
  int source = -1;  // copies: the fd the bytes come from
  write = true;
  switch (t.call.nr) {
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_ftruncate:
    case SYS_fallocate: fd = asFd(a[0]); break;
    case SYS_copy_file_range:
    case SYS_splice:
      fd = asFd(a[2]);
      source = asFd(a[0]);
      break;
    case SYS_sendfile:
      fd = asFd(a[0]);
      source = asFd(a[1]);
      break;
    case SYS_read:
    case SYS_readv:
    case SYS_lseek:
      fd = asFd(a[0]);
      write = false;
      break;
    default: return false;
  }
  const FdEntry* e = fdOf(t, fd);
  if (e == nullptr || !e->regular || e->inode.empty()) return false;
  // a read-only description's position never places bytes
  if (!write && (e->flags & O_ACCMODE) == O_RDONLY) return false;
  if (source >= 0) {
    const FdEntry* s = fdOf(t, source);
    if (s == nullptr || !s->regular) return false;  // may block on its source for ever: no turn
  }
  inode = e->inode;
  return true;
}

bool Tracer::conflicts(const Task& t, const Running& r) const {
  if (t.serialWrite && r.write) return true;
  return sameDescription(r.tid, r.fd, t.tid, t.serialFd);
}

bool Tracer::admit(Task& t) {
  std::string inode;
  int fd;
  bool write;
  if (!t.serial.empty()) leaveSerial(t);  // a call whose exit never came (none should): not a turn for ever
  if (!serialCall(t, inode, fd, write)) return true;
  t.serial = inode;
  t.serialFd = fd;
  t.serialWrite = write;
  Turn& turn = turns_[inode];
  for (const Running& r : turn.running) {
    if (r.tid != t.tid && conflicts(t, r)) {
      t.queued = true;
      turn.queued.push_back(t.tid);
      return false;  // stays stopped at its entry: leaveSerial() of the call before it lets it go on
    }
  }
  turn.running.push_back(Running{t.tid, fd, write});
  return true;
}

void Tracer::leaveSerial(Task& t) {
  if (t.serial.empty()) return;
  std::string inode = std::move(t.serial);
  t.serial.clear();
  bool wasQueued = t.queued;
  t.queued = false;
  auto it = turns_.find(inode);
  if (it == turns_.end()) return;
  Turn& turn = it->second;
  pid_t tid = t.tid;
  if (wasQueued) {
    turn.queued.erase(std::remove(turn.queued.begin(), turn.queued.end(), tid), turn.queued.end());
  } else {
    turn.running.erase(std::remove_if(turn.running.begin(), turn.running.end(), [tid](const Running& r) { return r.tid == tid; }),
                       turn.running.end());
  }
  // the waiting calls that no running call conflicts with any more go on, in the order they came
  std::vector<pid_t> go;
  if (!wasQueued) {
    for (auto q = turn.queued.begin(); q != turn.queued.end();) {
      auto n = tasks_.find(*q);
      if (n == tasks_.end()) {
        q = turn.queued.erase(q);
        continue;
      }
      Task& w = n->second;
      bool blocked = false;
      for (const Running& r : turn.running) blocked = blocked || conflicts(w, r);
      if (blocked) {
        ++q;
        continue;
      }
      w.queued = false;
      turn.running.push_back(Running{w.tid, w.serialFd, w.serialWrite});
      go.push_back(w.tid);
      q = turn.queued.erase(q);
    }
  }
  if (turn.running.empty() && turn.queued.empty()) turns_.erase(it);
  // their entries are handled now, after the exit that came before them in the kernel
  for (pid_t next : go) proceed(next);
}

void Tracer::proceed(pid_t tid) {
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) return;
  Task& t = it->second;
  if (detaching_) return detachStopped(t, 0);  // its call runs untraced, as every call from now on
  if (killing_) return resume(t, 0);            // it dies at once; its death ends its turn
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(tid), nowNs()};
  t.wantExit = entry(t, o);
  auto again = tasks_.find(tid);
  if (again == tasks_.end()) return;
  if (!again->second.wantExit) leaveSerial(again->second);
  again = tasks_.find(tid);
  if (again != tasks_.end()) resume(again->second, 0);
}

}  // namespace eyrie
