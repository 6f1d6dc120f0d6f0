// Clean verdicts the scanner lends the tracer. A build execs the same compiler and opens the same
// libraries hundreds of times; each question is a round trip to JavaScript and a journal commit
// while the program waits. When JavaScript finds a file clean it may lend that verdict: the tracer
// then lets the same file through by itself, journaling the same scan.verdict (clean, its sha256),
// as long as nothing can have changed it:
//   - its stat is the one taken before the question (device, inode, size, mtime, ctime): a change
//     by any process, traced or not, while JavaScript read it or since, shows there;
//   - no traced task opened it for writing since the question, and none holds it writable or maps it
//     shared now (a write within one clock tick of the stat need not move mtime);
//   - the loan is younger than admitNs (the scanner rechecks clamd's database version as often);
//   - an exec only on a loan for execs (a `#!` script's exec also judges its interpreter: asked).
// Verdicts may also be lent before the run (cfg_.lentByStamp: an earlier run's clean verdicts, by
// the host stamp they were taken under): the same, with the stamp for the stat before the question
// and the start of the run for its time; no traced task may have opened the file writable at all.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "tracer.h"

namespace eyrie {

namespace {

bool sameStat(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

bool isExec(const char* call) { return std::string_view(call).rfind("execve", 0) == 0; }

std::string stampOf(const struct stat& st) {
  auto ns = [](const timespec& t) { return std::to_string(static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec)); };
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + ns(st.st_mtim) + ":" + ns(st.st_ctim);
}

}  // namespace

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void Tracer::noteWritable(const std::string& inode) {
  if (cfg_.admitNs > 0 && !inode.empty()) writableAt_[inode] = ++writableEpoch_;
}

bool Tracer::heldWritable(const std::string& inode) const {
  if (sharedInodes_.count(inode) > 0) return true;  // a shared view may store without a call
  const FdTable* seen = nullptr;
  for (const auto& [tid, t] : tasks_) {
    if (!t.fds || t.fds.get() == seen) continue;  // threads share one table: usually adjacent
    seen = t.fds.get();
    for (const auto& [fd, e] : t.fds->fds)
      if (e.inode == inode && (e.flags & O_ACCMODE) != O_RDONLY) return true;
  }
  return false;
}

bool Tracer::readmit(const char* call, const std::string& path, const struct stat& st, const Origin& o) {
  auto it = admissions_.find(path);
  if (it == admissions_.end() && !cfg_.lentByStamp.empty()) {
    // lent before the run: valid as a loan taken at the start, under this very stat
    auto lent = cfg_.lentByStamp.find(stampOf(st));
    if (lent != cfg_.lentByStamp.end()) {
      lend(path, st, 0, lent->second, startedNs_);
      it = admissions_.find(path);
    }
  }
  if (it == admissions_.end()) return false;
  const Admission& a = it->second;
  if (!a.exec && isExec(call)) return false;  // lent for opens: still good for them
  std::string inode = inodeOf(st);
  auto w = writableAt_.find(inode);
  // a loan is made only while no traced task holds the file writable: a holder now opened it since
  bool valid = sameStat(a.st, st) && monotonicNs() < a.until && (w == writableAt_.end() || w->second <= a.epoch) &&
               !heldWritable(inode);
  if (!valid) {
    admissions_.erase(it);  // none of these comes back
    return false;
  }
  emit(Kind::ScanVerdict, o, [&](Record& r) { r.str(path).str(a.sha256).str(isExec(call) ? "exec" : "open"); });
  return true;
}

void Tracer::lend(const std::string& path, const struct stat& st, uint64_t epoch, const std::string& note, uint64_t from) {
  // note: "<sha256> exec|open" (src/native/index.ts)
  size_t space = note.find(' ');
  if (space == std::string::npos) return;
  std::string scope = note.substr(space + 1);
  if (scope != "exec" && scope != "open") return;
  if (admissions_.size() >= kMaxAdmissions) admissions_.clear();  // bounded; the next questions refill it
  admissions_[path] = Admission{st, epoch, from + cfg_.admitNs, note.substr(0, space), scope == "exec"};
}

}  // namespace eyrie
