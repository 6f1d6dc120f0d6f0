// Files a recorded command writes are read back, not stopped at. A ptrace stop costs tens of
// microseconds here, and a write-heavy program makes two per write; so the seccomp filter lets
// writes through and eyrie reads each written file back at the moments its content can be observed:
//   - every stop of a task that holds it writable (program order: at each traced call of the writer,
//     the file holds what the writer wrote before it; its close, exec, exit and fsync are such stops),
//     memory calls (munmap, mprotect, mremap, an mmap of another file) excepted unless its memory
//     holds a shared view that can store,
//   - an open or truncate of it by any task, a verdict on it, an on-demand sync, the end.
// A file made the backing of a loop device (losetup, mount -o loop) is one too, for the rest of the
// run: writes to the device (mkfs, a mounted file system) change it with no call on it. eyrie reads
// it through an fd of its own, the pages it knew marked as they were at the attach.
// A reading sends only what changed: each file keeps a hash per page of what eyrie last recorded
// (shared with views.cc, since a view and the file are the same page cache), and a file whose size
// and mtime are unchanged since a reading taken a clock tick after its mtime is not read at all.
// The records are file.sync: the size, and runs of changed pages.
//
// Which files: those eyrie knows whole, new or truncated by the open or observed whole when opened
// (small). A larger file that existed before keeps per-write records with the old bytes read
// before each write (content.cc): the task holding it is resumed with PTRACE_SYSCALL, stopping at
// every call, while it does (perWriteStops).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <linux/loop.h>

#include "filter.h"
#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kChunk = 1 << 20;  // bytes read per pread

int64_t mtimeNs(const struct stat& st) { return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

// An fd of the table that writes the file without stops (other than `except`), or -1.
int writingFd(const FdTable& table, const std::string& inode, int except = -1) {
  for (const auto& [fd, e] : table.fds)
    if (fd != except && e.deferred && e.inode == inode) return fd;
  return -1;
}

std::string liveName(std::string p) {
  stripDeleted(p);
  return p;
}

/** Where file.sync's size and length fields are in its record (a read that came up short corrects them). */
struct SyncFields {
  size_t size, len;
};

/** file.sync's fields before its bytes: path, inode, the file's size, the bytes' offset and length. */
SyncFields syncHeader(Record& r, const std::string& path, const std::string& inode, uint64_t size, uint64_t offset, uint64_t len) {
  r.str(path).nullableStr(inode);
  SyncFields at{r.here(), 0};
  r.num(size).num(offset);
  at.len = r.here();
  r.num(len);
  return at;
}

}  // namespace

void Tracer::adoptWritable(Task& t, int fd, FdEntry& e, bool empty, uint64_t size, const Origin& o) {
  if (empty) {
    // new or truncated: every byte is known (none), and nothing recorded before applies (a new file
    // may reuse the inode number of a deleted one); a loop device's backing file stays read back
    wholeKnown_.insert(e.inode);
    forgetPages(e.inode, 0, ~0ull);
    auto w = written_.find(e.inode);
    if (w != written_.end() && w->second.backing < 0) {
      letGo(w->second);
      written_.erase(w);
    }
  } else if (wholeKnown_.count(e.inode) == 0) {
    observeAtOpen(t, fd, e, size, o);  // whole when small (then known whole), else per-write pre-images
  }
  if (cfg_.everyCall() || e.observeWrites || e.path.empty() || e.path[0] != '/') return;
  e.deferred = true;
  Written& w = written_[e.inode];
  w.path = e.path;
  if (!w.open) openWritten_++;
  w.open = true;
  if (w.own < 0) w.own = reopenFd(t.tid, fd);  // -1 (no fd left, say): /proc as before
}

void Tracer::letGo(Written& w) {
  if (w.open) openWritten_--;
  w.open = false;
  if (w.own >= 0) close(w.own);
  w.own = -1;
}

bool Tracer::statOf(pid_t tid, int fd, const std::string& inode, struct stat& st) {
  auto w = written_.find(inode);
  if (w != written_.end() && w->second.own >= 0) return fstat(w->second.own, &st) == 0;
  return fdStat(tid, fd, st);
}

bool Tracer::perWriteStops(const Task& t) const {
  if (cfg_.everyCall() || !t.fds) return false;
  for (const auto& [fd, e] : t.fds->fds)
    if (e.observeWrites && (e.flags & O_ACCMODE) != O_RDONLY) return true;
  return false;
}

// Whether, after this task lets go of fd (exit, exec, close, dup2 over it), some descriptor still
// writes the file: one of its table's that stays (the fd itself across an exec without
// close-on-exec, or at a thread's exit while other threads keep the table; another fd than the one
// closed), or one of another table's (a fork's child, a parent). A table is the descriptors: a
// close by one thread closes it for all, so the other threads' view of the same table is no holder.
bool Tracer::writingGoesOn(const Task& t, int fd, const FdEntry& e, long nr) const {
  bool exec = nr == SYS_execve || nr == SYS_execveat;
  bool exit = nr < 0;
  if (exec && !e.cloexec) return true;
  // a thread ends: the table, fd included, lives on in the others (exec ends the other threads, and
  // a close closes for them too)
  if (exit)
    for (const auto& [tid, u] : tasks_)
      if (tid != t.tid && !u.exiting && u.fds && u.fds == t.fds) return true;
  if (writtenByOtherTable(t, e.inode)) return true;
  return !exit && !exec && nr != SYS_close_range && writingFd(*t.fds, e.inode, fd) >= 0;
}

bool Tracer::writtenByOtherTable(const Task& t, const std::string& inode) const {
  for (const auto& [tid, u] : tasks_)
    if (!u.exiting && u.fds && u.fds != t.fds && writingFd(*u.fds, inode) >= 0) return true;
  return false;
}

void Tracer::syncAtCall(Task& t, const Origin& o, int exposed, bool all, long nr) {
  if (!t.fds || written_.empty()) return;
  bool lettingGo = nr < 0 || letsGo(nr);
  // memory calls show no file's content but a mapped one's: the files a task writes wait for its next
  // call that may (x264 unmaps a buffer per frame; reading its output back at each cost ~90 µs a
  // stop). Not while its memory maps a file shared: the stores read out of a view at these calls and
  // its writes stay in program order.
  bool memory = (nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap || nr == SYS_mmap) && !(t.mem && t.mem->sharedFileViews);
  // the call shows a file, not a descriptor: another fd of the same file (a read-only one it copies
  // or maps from) exposes what this writer wrote; letting go of an fd shows its file only if it wrote
  const FdEntry* shown = exposed >= 0 ? fdOf(t, exposed) : nullptr;
  if (shown != nullptr && lettingGo && !shown->deferred) shown = nullptr;
  for (const auto& [fd, e] : t.fds->fds) {
    bool isShown = shown != nullptr && e.inode == shown->inode;
    if (!e.deferred || (memory && !isShown)) continue;
    auto it = written_.find(e.inode);
    if (it == written_.end()) continue;
    Written& w = it->second;
    struct stat st;
    if (!statOf(t.tid, fd, e.inode, st)) continue;
    if (unchanged(w, st)) continue;
    // a large file is read at the calls that can show it, not at every call of its writer: reading
    // it whole at each of them would cost its size per call (an archive written while its inputs
    // are opened one by one)
    bool large = static_cast<uint64_t>(st.st_size) > cfg_.programOrderMax;
    if (large && !all && !isShown) continue;
    // nor when this task only lets go of it while another descriptor goes on writing (children of
    // `make > log` exiting one by one): read when the last one lets go, or anyone else looks;
    // otherwise a log that every child appends to is read whole at each exit, quadratic in its size
    if (large && lettingGo && writingGoesOn(t, fd, e, nr)) continue;
    readBackThrough(w, t.tid, fd, e.inode, o);
  }
  // what other tasks wrote to the file the call shows, through their own descriptors (a copy out of
  // it, a view, a truncation by this task's fd): read through a holder, as before another task's open
  if (shown == nullptr || lettingGo) return;
  auto written = written_.find(shown->inode);
  if (written != written_.end() && written->second.open && writtenByOtherTable(t, shown->inode)) syncWritten(shown->inode, t.tid, o.ts);
}

// As many of n bytes at off as the file holds (fewer only at its end).
static size_t preadAll(int f, uint8_t* into, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(f, into + got, n - got, static_cast<off_t>(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += static_cast<size_t>(k);
  }
  return got;
}

void Tracer::readBack(int f, const std::string& inode, const std::string& path, const Origin& o) {
  Written& w = written_[inode];
  // taken before the stat: a write after it sets an mtime of this tick or later
  timespec before;
  clock_gettime(CLOCK_REALTIME_COARSE, &before);
  struct stat st;
  if (fstat(f, &st) != 0 || path.empty() || path[0] != '/') return;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  PageMarks& known = pages_[inode];
  readBuf_.resize(kChunk);
  bool sent = false;
  // a file with as many bytes allocated as it is long has no hole to look for (most files written
  // are: the two lseeks per file were a tenth of the tracer's calls in a tar extraction); a loop
  // device's backing file gets holes no call shows (a discard punches one): it is read whole
  bool holes = w.backing < 0 && static_cast<uint64_t>(st.st_blocks) * 512 < size;
  for (uint64_t chunk = 0, next = 0; chunk < size; chunk = next) {
    // holes read as zeros and were never recorded as anything else (a hole punched into recorded
    // bytes forgot their hashes): only the data is read
    off_t data = holes ? lseek(f, static_cast<off_t>(chunk), SEEK_DATA) : static_cast<off_t>(chunk);
    if (data < 0 && errno == ENXIO) break;  // only a hole up to the end
    uint64_t end = size;
    if (holes && data >= 0) {
      chunk = std::max(chunk, static_cast<uint64_t>(data) / kPage * kPage);
      off_t hole = lseek(f, data, SEEK_HOLE);
      if (hole >= 0) end = std::min(size, (static_cast<uint64_t>(hole) + kPage - 1) / kPage * kPage);
    }
    if (chunk >= end) break;
    next = std::min(end, chunk + kChunk);
    size_t want = static_cast<size_t>(next - chunk), got = 0;
    if (known.none(chunk / kPage, (next + kPage - 1) / kPage)) {
      // nothing recorded here yet (a file written anew): every page goes out, read straight into
      // the record, one copy fewer while the writer waits
      emit(Kind::FileSync, o, [&](Record& r) {
        SyncFields at = syncHeader(r, path, inode, size, chunk, want);
        uint8_t* into = r.payload(want);
        got = preadAll(f, into, want, chunk);
        if (got < want) {
          size = chunk + got;  // it shrank meanwhile: what could be read is what it holds
          r.renum(at.size, size);
          r.renum(at.len, got);
        }
        r.payloadDone(got);
        for (size_t at = 0; at < got; at += kPage) known.at((chunk + at) / kPage) = hasher_.mark(into + at, std::min<size_t>(kPage, got - at));
      });
      sent = true;
      if (got < want) break;
      continue;
    }
    got = preadAll(f, readBuf_.data(), want, chunk);
    if (got < want) size = chunk + got;  // it shrank meanwhile: what could be read is what it holds
    size_t from = SIZE_MAX;  // start (in the buffer) of the pending run of changed pages
    auto flush = [&](size_t to) {
      if (from == SIZE_MAX) return;
      emit(Kind::FileSync, o, [&](Record& r) {
        syncHeader(r, path, inode, size, chunk + from, to - from);
        std::memcpy(r.payload(to - from), readBuf_.data() + from, to - from);
        r.payloadDone(to - from);
      });
      sent = true;
      from = SIZE_MAX;
    };
    for (size_t at = 0; at < got; at += kPage) {
      size_t len = std::min<size_t>(kPage, got - at);
      PageMark h = hasher_.mark(readBuf_.data() + at, len);
      PageMark& k = known.at((chunk + at) / kPage);
      if (k == h) {
        flush(at);
        continue;
      }
      // a last page that only grew (an append): only its new bytes go out
      size_t before = k.len;
      bool grew = before > 0 && before < len && hasher_.mark(readBuf_.data() + at, before) == k;
      k = h;
      if (from == SIZE_MAX) from = grew ? at + before : at;
    }
    flush(got);
    if (got < want) break;
  }
  if (!sent && size != w.size) {
    emit(Kind::FileSync, o, [&](Record& r) {
      syncHeader(r, path, inode, size, size, 0);
      r.payload(0);
      r.payloadDone(0);
    });
  }
  w.size = size;
  w.mtime = mtimeNs(st);
  w.settled = static_cast<int64_t>(before.tv_sec) * 1000000000 + before.tv_nsec > w.mtime;
}

void Tracer::syncWritten(const std::string& inode, pid_t current, uint64_t ts) {
  auto it = written_.find(inode);
  if (it == written_.end() || !it->second.open) return;
  // read it through a task that holds it (the current one first): that fd names it even when renamed
  // or unlinked
  auto holds = [&](Task& t) -> int { return t.fds && t.started ? writingFd(*t.fds, inode) : -1; };
  auto cur = tasks_.find(current);
  Task* holder = nullptr;
  int fd = -1;
  if (cur != tasks_.end() && (fd = holds(cur->second)) >= 0) holder = &cur->second;
  for (auto i = tasks_.begin(); holder == nullptr && i != tasks_.end(); ++i)
    if ((fd = holds(i->second)) >= 0) holder = &i->second;
  Written& w = it->second;
  if (holder == nullptr && w.backing >= 0) {
    // no task writes it, a loop device may
    bool known = cur != tasks_.end();
    readBacking(inode, w, Origin{static_cast<uint32_t>(known ? cur->second.tgid : root_), static_cast<uint32_t>(known ? cur->second.tid : root_), ts});
    return;
  }
  if (holder == nullptr) {
    settleIfUnheld(inode);
    return;
  }
  struct stat st;
  if (statOf(holder->tid, fd, inode, st) && unchanged(w, st)) return;
  readBackThrough(w, holder->tid, fd, inode, Origin{static_cast<uint32_t>(holder->tgid), static_cast<uint32_t>(holder->tid), ts});
}

void Tracer::readBackThrough(Written& w, pid_t tid, int fd, const std::string& inode, const Origin& o) {
  int f = w.own >= 0 ? w.own : reopenFd(tid, fd);
  if (f < 0) return;
  readBack(f, inode, liveName(fdPath(tid, fd)), o);
  if (f != w.own) close(f);
}

bool Tracer::unchanged(const Written& w, const struct stat& st) {
  return w.settled && static_cast<uint64_t>(st.st_size) == w.size && mtimeNs(st) == w.mtime;
}

void Tracer::readBacking(const std::string& inode, Written& w, const Origin& o) {
  struct stat st;
  if (fstat(w.backing, &st) == 0 && unchanged(w, st)) return;
  readBack(w.backing, inode, liveName(fdPath(getpid(), w.backing)), o);
}

void Tracer::loopExit(Task& t, int64_t ret, const Origin& o) {
  if (ret < 0) return;
  // LOOP_CONFIGURE passes a struct loop_config, whose first field is the fd
  uint32_t fd = static_cast<uint32_t>(t.call.args[2]);
  if (static_cast<uint32_t>(t.call.args[1]) == LOOP_CONFIGURE && readMemory(t.tid, t.call.args[2], sizeof fd, reinterpret_cast<uint8_t*>(&fd)) != sizeof fd) return;
  FdEntry* e = fdOf(t, static_cast<int>(fd));
  if (e == nullptr || !e->regular || e->inode.empty() || e->path.empty() || e->path[0] != '/') return;
  int own = reopenFd(t.tid, static_cast<int>(fd));
  if (own < 0) return;
  // what eyrie recorded of it is what it holds now: from here a reading sends what the device changed
  markUnmarked(own, e->inode);
  Written& w = written_[e->inode];
  if (w.backing >= 0) close(w.backing);
  w.backing = own;
  w.path = e->path;
  w.settled = false;
  if (!w.open) openWritten_++;
  w.open = true;
  (void)o;
}

void Tracer::markUnmarked(int f, const std::string& inode) {
  PageMarks& known = pages_[inode];
  readBuf_.resize(kChunk);
  for (uint64_t chunk = 0;; chunk += kChunk) {
    size_t got = preadAll(f, readBuf_.data(), kChunk, chunk);
    for (size_t at = 0; at < got; at += kPage) {
      PageMark& k = known.at((chunk + at) / kPage);
      if (k.len == 0) k = hasher_.mark(readBuf_.data() + at, std::min<size_t>(kPage, got - at));
    }
    if (got < kChunk) break;
  }
}

void Tracer::syncAllWritten(uint64_t ts, bool last) {
  if (!last) {
    std::vector<std::string> held;
    for (const auto& [inode, w] : written_)
      if (w.open) held.push_back(inode);
    for (const auto& inode : held) syncWritten(inode, 0, ts);
    return;
  }
  // the end, every task gone: one that died without an exit stop (SIGKILL) was not read at its
  // death, and no one is left to write: read such a file by its last name if that still names it
  // and it changed since the last reading
  for (auto& [inode, w] : written_) {
    if (!w.open) continue;
    letGo(w);
    if (w.backing >= 0) {
      readBacking(inode, w, Origin{static_cast<uint32_t>(root_), static_cast<uint32_t>(root_), ts});
      close(w.backing);
      w.backing = -1;
      continue;
    }
    struct stat st;
    if (stat(w.path.c_str(), &st) != 0 || inodeOf(st) != inode) continue;
    if (static_cast<uint64_t>(st.st_size) == w.size && mtimeNs(st) == w.mtime) continue;
    int f = open(w.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) continue;
    readBack(f, inode, w.path, Origin{static_cast<uint32_t>(root_), static_cast<uint32_t>(root_), ts});
    close(f);
  }
}

void Tracer::settleIfUnheld(const std::string& inode) {
  auto it = written_.find(inode);
  if (it == written_.end() || !it->second.open || it->second.backing >= 0) return;
  for (const auto& [tid, t] : tasks_)
    if (t.fds && !t.exiting && writingFd(*t.fds, inode) >= 0) return;
  letGo(it->second);
}

void Tracer::forgetPages(const std::string& inode, uint64_t from, uint64_t to) {
  auto it = pages_.find(inode);
  if (it == pages_.end()) return;
  if (from == 0 && to == ~0ull) {
    pages_.erase(it);
    return;
  }
  it->second.forget(from / kPage, to == ~0ull ? ~0ull : (to + kPage - 1) / kPage);
  // the size changed: the next reading must not trust an unchanged stat
  auto w = written_.find(inode);
  if (w != written_.end()) w->second.settled = false;
}

void Tracer::adoptInherited(Task& t) {
  // fds the command starts with (a shell's `> file`, all in its table: noteHeld): writes to them
  // are not stopped at either
  Origin o{static_cast<uint32_t>(t.tgid), static_cast<uint32_t>(t.tid), nowNs()};
  for (auto& [fd, e] : t.fds->fds) {
    if (!e.regular || (e.flags & O_ACCMODE) == O_RDONLY || e.deferred) continue;
    struct stat st;
    if (!fdStat(t.tid, fd, st)) continue;
    e.observeWrites = false;
    adoptWritable(t, fd, e, false, static_cast<uint64_t>(st.st_size), o);
  }
}

}  // namespace eyrie
