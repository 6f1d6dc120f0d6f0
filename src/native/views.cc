// Shared file views. A MAP_SHARED mapping of a file is the file's page cache: a store through it
// changes the file without a write call. eyrie reads such views out as view.sync records at munmap,
// msync, mremap, mprotect, exec and exit, before a truncate or the close of an fd of the file, and on
// demand (before a verdict on the file, or when JavaScript asks).
//
// Only pages that changed since eyrie last read them go out. This kernel has no soft-dirty bits, so
// each file keeps a hash per page of what eyrie last recorded there; a sync reads the pages the
// process has present (pagemap bit 63: a store needs the page mapped) and sends the ones whose hash
// differs, so a 1 GiB view with one stored page costs one page of journal. A page written through a
// view, written back and then reclaimed before the next sync is not present any more and is missed:
// the window is the kernel's writeback delay plus memory pressure.
#include <errno.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kScanPages = 4096;  // pagemap entries per read: 16 MiB of address space
constexpr int kFreezeWaitUs = 20000;   // how long a holder may take to reach a stop

/** The file behind a mapping: through /proc/TID/map_files (the mapped file itself, needs privilege),
 *  else by name when that still names the same inode. */
bool statMapping(pid_t tid, const Mapping& m, struct stat& st) {
  char link[96];
  snprintf(link, sizeof link, "/proc/%d/map_files/%llx-%llx", tid, static_cast<unsigned long long>(m.start),
           static_cast<unsigned long long>(m.end));
  if (stat(link, &st) == 0) return S_ISREG(st.st_mode);
  return !deletedName(m.path) && stat(m.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         static_cast<uint64_t>(st.st_ino) == m.ino;
}

}  // namespace

void Tracer::syncMapped(pid_t tid, const std::vector<Mapping>& maps, uint64_t lo, uint64_t hi, const std::string* only,
                        const Origin& o) {
  int pagemap = -1;
  std::vector<uint64_t> entries;
  std::vector<uint8_t> buf;
  for (const Mapping& m : maps) {
    if (!m.sharedWritable() || m.end <= lo || m.start >= hi || deletedName(m.path)) continue;
    struct stat st;
    if (!statMapping(tid, m, st)) continue;
    std::string inode = inodeOf(st);
    if (only != nullptr && inode != *only) continue;
    // pages at or past the end of the file are not its content (and reading them would fault)
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size <= m.offset) continue;
    uint64_t start = std::max(m.start, lo & ~(kPage - 1));
    uint64_t end = std::min({m.end, hi, m.start + (size - m.offset)});
    if (start >= end) continue;
    if (pagemap < 0) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/pagemap", tid);
      pagemap = open(path, O_RDONLY | O_CLOEXEC);
    }
    PageMarks& known = pages_[inode];
    for (uint64_t chunk = start; chunk < end; chunk += kScanPages * kPage) {
      uint64_t chunkEnd = std::min(end, chunk + kScanPages * kPage);
      size_t n = static_cast<size_t>((chunkEnd - chunk + kPage - 1) / kPage);
      entries.assign(n, kPresent);  // without a pagemap every page is a candidate
      if (pagemap >= 0) {
        ssize_t got = pread(pagemap, entries.data(), n * 8, static_cast<off_t>(chunk / kPage * 8));
        if (got < static_cast<ssize_t>(n * 8)) std::fill(entries.begin() + std::max<ssize_t>(got, 0) / 8, entries.end(), kPresent);
      }
      for (size_t i = 0; i < n;) {
        if ((entries[i] & kPresent) == 0) {
          i++;
          continue;
        }
        size_t j = i;
        while (j < n && (entries[j] & kPresent) != 0) j++;
        // one read for the run of present pages, then one record per run of changed pages in it
        uint64_t runStart = chunk + i * kPage, runEnd = std::min(chunk + j * kPage, chunkEnd);
        buf.resize(runEnd - runStart);
        size_t read = readMemory(tid, runStart, runEnd - runStart, buf.data());
        size_t from = SIZE_MAX;  // start (in buf) of the pending run of changed pages
        auto flush = [&](size_t to) {
          if (from == SIZE_MAX) return;
          uint64_t offset = m.offset + (runStart + from - m.start);
          emit(Kind::ViewSync, o, [&](Record& r) {
            r.str(m.path).nullableStr(inode).num(offset).num(to - from);
            std::memcpy(r.payload(to - from), buf.data() + from, to - from);
            r.payloadDone(to - from);
          });
          from = SIZE_MAX;
        };
        for (size_t at = 0; at < read; at += kPage) {
          size_t len = std::min<size_t>(kPage, read - at);
          uint64_t page = (m.offset + (runStart + at - m.start)) / kPage;
          PageMark h = hasher_.mark(buf.data() + at, len);
          PageMark& k = known.at(page);
          if (k == h) {
            flush(at);
            continue;
          }
          k = h;
          if (from == SIZE_MAX) from = at;
        }
        flush(read);
        i = j;
      }
    }
  }
  if (pagemap >= 0) close(pagemap);
}

void Tracer::syncViews(Task& t, uint64_t lo, uint64_t hi, const Origin& o) {
  syncMapped(t.tid, fileMappings(t.tid), lo, hi, nullptr, o);
}

void Tracer::noteSharedMapping(Task& t, const std::string& inode) {
  if (t.mem) t.mem->sharedFileViews = true;
  if (!inode.empty()) sharedInodes_.insert(inode);
}

void Tracer::syncHolders(const std::string* inode, pid_t current, bool freezeThem, uint64_t ts) {
  // one task per memory that has shared views: the current one where it is among them (it is stopped)
  std::unordered_map<const Memory*, pid_t> reps;
  auto usable = [](const Task& t) { return t.mem && t.mem->sharedFileViews && t.started && !t.held && !t.exiting; };
  auto cur = tasks_.find(current);
  if (cur != tasks_.end() && usable(cur->second)) reps[cur->second.mem.get()] = current;
  for (auto& [tid, t] : tasks_)
    if (usable(t)) reps.emplace(t.mem.get(), tid);
  std::vector<std::pair<pid_t, std::vector<Mapping>>> holders;
  std::unordered_set<const Memory*> frozen;
  for (auto& [mem, tid] : reps) {
    std::vector<Mapping> maps = fileMappings(tid);
    bool holds = false;
    for (const Mapping& m : maps) {
      struct stat st;
      if (m.sharedWritable() && (inode == nullptr || (statMapping(tid, m, st) && inodeOf(st) == *inode))) holds = true;
    }
    if (!holds) continue;
    holders.emplace_back(tid, std::move(maps));
    frozen.insert(mem);
  }
  if (holders.empty()) return;
  if (freezeThem) freeze(current, frozen);
  for (auto& [tid, maps] : holders) {
    auto it = tasks_.find(tid);
    if (it == tasks_.end()) continue;
    Origin o{static_cast<uint32_t>(it->second.tgid), static_cast<uint32_t>(tid), ts};
    syncMapped(tid, maps, 0, ~0ull, inode, o);
  }
}

void Tracer::syncFile(const std::string& path, pid_t current, uint64_t ts) {
  struct stat st;
  if ((sharedInodes_.empty() && openWritten_ == 0) || stat(path.c_str(), &st) != 0) return;
  std::string inode = inodeOf(st);
  if (sharedInodes_.count(inode) != 0) syncHolders(&inode, current, true, ts);
  syncWritten(inode, current, ts);
}

void Tracer::freeze(pid_t current, const std::unordered_set<const Memory*>& mems) {
  // Interrupt every running task of those memories, then collect the stop each reaches. A task in
  // a wait no signal ends (a vfork parent whose child we hold) runs no user code: it is left alone
  // after a short wait and its stop comes through the loop later, like any other.
  std::vector<pid_t> waiting;
  for (auto& [tid, t] : tasks_) {
    // held and queued tasks are stopped already (their stop was reported): nothing to wait for
    if (tid == current || !t.started || t.held || t.queued || t.listening || t.exiting || t.parked) continue;
    if (mems.count(t.mem.get()) == 0) continue;
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0) waiting.push_back(tid);
  }
  for (int waited = 0; !waiting.empty() && waited < kFreezeWaitUs; waited += 50) {
    for (auto i = waiting.begin(); i != waiting.end();) {
      int status;
      pid_t r = waitpid(*i, &status, __WALL | __WNOTHREAD | WNOHANG);
      if (r == *i) {
        // stopped (or gone): the loop handles what it reported once the sync is done
        tasks_[*i].parked = true;
        parked_.push_back(Parked{*i, status, nowNs()});
        i = waiting.erase(i);
      } else if (r < 0 && errno != EINTR) {
        i = waiting.erase(i);
      } else {
        ++i;
      }
    }
    if (!waiting.empty()) {
      timespec pause{0, 50000};
      nanosleep(&pause, nullptr);
    }
  }
}

void Tracer::serveSyncRequest() {
  uint64_t wanted = syncWanted_.load();
  if (wanted <= syncServed_) return;
  syncServed_ = wanted;
  uint64_t ts = nowNs();
  syncHolders(nullptr, 0, true, ts);
  if (openWritten_ > 0) {
    // the writers stand still while their files are read: one consistent cut
    std::unordered_set<const Memory*> writers;
    for (auto& [tid, t] : tasks_)
      if (t.fds && t.mem && t.started && !t.held && !t.exiting)
        for (const auto& [fd, e] : t.fds->fds)
          if (e.deferred) writers.insert(t.mem.get());
    freeze(0, writers);
    syncAllWritten(ts, false);
  }
  auto* m = new Message(Message::Type::Synced);
  m->generation = wanted;
  ch_.ask(m, 0);  // JavaScript answers once it has taken every record sent before this
}

void Tracer::requestSync(uint64_t generation) {
  uint64_t seen = syncWanted_.load();
  while (seen < generation && !syncWanted_.compare_exchange_weak(seen, generation)) {
  }
  pid_t p = wakePid_.load();
  if (p > 0) kill(wakeTarget(p), SIGURG);  // as requestStop
}

void Tracer::noteFoundMappings(Task& t) {
  // R(0) read the same maps while every task was stopped: they are where its memory's views are
  std::vector<Mapping> found = fileMappings(t.tid);
  for (const Mapping& m : found) {
    if (t.mem) t.mem->views.add(m.start, m.end);
    struct stat st;
    if (m.shared && statMapping(t.tid, m, st)) noteSharedMapping(t, inodeOf(st));
  }
  if (t.mem && !found.empty()) t.mem->viewsKnown = true;  // none: unreadable (a process maps its program)
}

void Tracer::holesPunched(Task& t, uint64_t lo, uint64_t hi) {
  for (const Mapping& m : fileMappings(t.tid)) {
    struct stat st;
    if (!m.shared || m.end <= lo || m.start >= hi || !statMapping(t.tid, m, st)) continue;
    uint64_t from = std::max(lo, m.start), to = std::min(hi, m.end);
    forgetPages(inodeOf(st), m.offset + (from - m.start), m.offset + (to - m.start));
  }
}

void Tracer::mapsFromProc(Task& t, uint64_t lo, uint64_t hi, const Origin& o) {
  // Segments of one file come together: in one reading of the maps the same inode and name are the
  // same file, stat once (each stat of a mapping is a walk through /proc)
  const Mapping* last = nullptr;
  struct stat st;
  bool known = false;
  for (const Mapping& m : fileMappings(t.tid)) {
    uint64_t from = std::max(m.start, lo), to = std::min(m.end, hi);
    if (from >= to) continue;
    if (last == nullptr || m.ino != last->ino || m.path != last->path) known = statMapping(t.tid, m, st);
    last = &m;
    if (!known) continue;  // a file no name leads to is found only through map_files (root)
    std::string inode = inodeOf(st);
    if (m.shared) noteSharedMapping(t, inode);
    std::string path = m.path;
    bool deleted = stripDeleted(path);
    emit(Kind::ViewMap, o, [&](Record& r) {
      r.num(from).num(to - from).num(static_cast<uint32_t>(m.prot)).flag(m.shared).str(path);
      r.nullableStr(inode).num(m.offset + (from - m.start)).flag(deleted);
    });
    if (t.mem) t.mem->views.add(from, to);
  }
}

void Tracer::protectedInPart(Task& t, uint64_t addr, uint64_t len, const Origin& o) {
  // mprotect changes the mappings in its range one after another and stops at one it may not change
  // (PROT_WRITE on a shared view of a file opened read-only: EACCES); those before keep their new
  // protection. Say what the file views in the range hold now.
  uint64_t end = addr + ((len + 4095) & ~uint64_t{4095});
  for (const Mapping& m : fileMappings(t.tid)) {
    uint64_t lo = std::max(m.start, addr), hi = std::min(m.end, end);
    if (lo >= hi) continue;
    emit(Kind::ViewProtect, o, [&](Record& r) { r.num(lo).num(hi - lo).num(static_cast<uint32_t>(m.prot)); });
  }
}

void Tracer::remapFromProc(Task& t, uint64_t lo, uint64_t hi, const Origin& o) {
  // a call that failed part way (mremap with MREMAP_FIXED unmaps where it moves to, then moves
  // mapping after mapping, and may fail at any): [lo, hi) holds what /proc/PID/maps says now
  lo &= ~uint64_t{4095};
  hi = (hi + 4095) & ~uint64_t{4095};
  if (lo >= hi) return;
  emit(Kind::ViewUnmap, o, [&](Record& r) { r.num(lo).num(hi - lo); });
  mapsFromProc(t, lo, hi, o);
}

}  // namespace eyrie
