// Content fidelity: bytes that a write is about to overwrite in a file that existed before eyrie
// saw it (file.observe, the pre-image). Bytes stored through shared file mappings: views.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

// Files up to this size are observed whole when opened for writing; larger ones range by range.
constexpr uint64_t kWholeFile = 64 * 1024;

/** Reads [offset, offset+len) of the tracee's fd through a new open file description. */
size_t readFile(pid_t tid, int fd, uint64_t offset, size_t len, uint8_t* out) {
  int f = reopenFd(tid, fd);
  if (f < 0) return 0;
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(f, out + got, len - got, static_cast<off_t>(offset + got));
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(f);
  return got;
}

}  // namespace

void Tracer::observeAtOpen(Task& t, int fd, FdEntry& e, uint64_t size, const Origin& o) {
  if (e.path.empty() || e.path[0] != '/') return;
  if (size <= kWholeFile) {
    emit(Kind::FileObserve, o, [&](Record& r) {
      r.str(e.path).nullableStr(e.inode).num(0).nullableNum(true, size).num(size);
      uint8_t* p = r.payload(size);
      r.payloadDone(readFile(t.tid, fd, 0, size, p));
    });
    wholeKnown_.insert(e.inode);
    return;
  }
  // too large to copy on open: its size now (so appends can be placed), its bytes when overwritten
  emit(Kind::FileObserve, o, [&](Record& r) {
    r.str(e.path).nullableStr(e.inode).num(0).nullableNum(true, size).num(0);
    r.payload(0);
    r.payloadDone(0);
  });
  e.observeWrites = true;
}

void Tracer::preimage(Task& t, int fd, FdEntry& e, uint64_t offset, uint64_t count, const Origin& o) {
  struct stat st;
  if (count == 0 || !fdStat(t.tid, fd, st)) return;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t end = std::min(offset + count, size);
  if (offset >= end) return;  // past the end: nothing old is overwritten
  std::string path = fdPath(t.tid, fd);
  if (path.empty() || path[0] != '/') return;
  KnownRanges& known = known_[e.inode];
  // the gaps of [offset, end) that eyrie has not seen yet
  uint64_t at = offset;
  auto it = known.upper_bound(offset);
  if (it != known.begin()) --it;
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  for (; at < end; ++it) {
    if (it == known.end() || it->first >= end) {
      gaps.emplace_back(at, end);
      break;
    }
    if (it->second <= at) continue;
    if (it->first > at) gaps.emplace_back(at, it->first);
    at = std::max(at, it->second);
  }
  for (auto [from, to] : gaps) {
    emit(Kind::FileObserve, o, [&](Record& r) {
      r.str(path).nullableStr(e.inode).num(from).nullableNum(true, size).num(to - from);
      uint8_t* p = r.payload(to - from);
      r.payloadDone(readFile(t.tid, fd, from, to - from, p));
    });
    noteWritten(e.inode, from, to - from);
  }
}

void Tracer::noteWritten(const std::string& inode, uint64_t offset, uint64_t len) {
  if (len == 0 || wholeKnown_.count(inode) != 0) return;
  KnownRanges& known = known_[inode];
  uint64_t from = offset, to = offset + len;
  auto it = known.upper_bound(from);
  if (it != known.begin() && std::prev(it)->second >= from) --it;
  while (it != known.end() && it->first <= to) {
    from = std::min(from, it->first);
    to = std::max(to, it->second);
    it = known.erase(it);
  }
  known[from] = to;
}

}  // namespace eyrie
