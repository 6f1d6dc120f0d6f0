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
//   - an exec only on a loan for execs (a `#!` script's exec also judges its interpreter: asked),
//     and only while its ELF interpreter (PT_INTERP, which the kernel loads without a call) holds a
//     loan of its own, by the same rules: JavaScript lends it with the program's verdict.
// Verdicts may also be lent before the run (cfg_.lentByStamp: an earlier run's clean verdicts, by
// the host stamp they were taken under): the same, with the stamp for the stat before the question
// and the start of the run for its time; no traced task may have opened the file writable at all.
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <optional>

#include "tracer.h"

namespace eyrie {

namespace {

bool sameStat(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

std::string stampOf(const struct stat& st) {
  auto ns = [](const timespec& t) { return std::to_string(static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec)); };
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + ns(st.st_mtim) + ":" + ns(st.st_ctim);
}

template <typename Ehdr, typename Phdr>
std::optional<std::string> interpreterOf(int fd) {
  auto at = [fd](void* to, size_t n, uint64_t off) { return pread(fd, to, n, static_cast<off_t>(off)) == static_cast<ssize_t>(n); };
  Ehdr h{};
  if (!at(&h, sizeof h, 0) || h.e_phentsize != sizeof(Phdr)) return std::nullopt;
  for (unsigned i = 0; i < h.e_phnum; i++) {
    Phdr ph{};
    if (!at(&ph, sizeof ph, h.e_phoff + uint64_t{i} * sizeof ph)) return std::nullopt;
    if (ph.p_type != PT_INTERP) continue;  // the kernel takes the first
    if (ph.p_filesz < 2 || ph.p_filesz > PATH_MAX) return std::nullopt;
    std::string name(ph.p_filesz, '\0');
    if (!at(name.data(), name.size(), ph.p_offset)) return std::nullopt;
    return name.substr(0, name.find('\0'));
  }
  return "";
}

}  // namespace

std::optional<std::string> elfInterpreter(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  unsigned char ident[EI_NIDENT];
  ssize_t got = pread(fd, ident, sizeof ident, 0);
  std::optional<std::string> out = std::nullopt;
  if (got >= 0 && (got < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0)) out = "";
  else if (got == EI_NIDENT && ident[EI_CLASS] == ELFCLASS64) out = interpreterOf<Elf64_Ehdr, Elf64_Phdr>(fd);
  else if (got == EI_NIDENT && ident[EI_CLASS] == ELFCLASS32) out = interpreterOf<Elf32_Ehdr, Elf32_Phdr>(fd);
  close(fd);
  return out;
}

bool isExecCall(const char* call) { return std::string_view(call).rfind("execve", 0) == 0; }

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

// The open filter (scanfilter.h) on a regular file a tracee opens: by its name, else by its first
// bytes, which are remembered by the file's stat, as loans are, while no traced task has had it
// open for writing or maps it shared (a compiler reads the same headers for every unit, the loader
// ld.so.cache at every exec: an open, a read and a close each time). `walk` reaches the file. Every
// open the tracer may ask about goes through here: by name (openEntry) or by a handle.
bool Tracer::passesOpenFilter(const std::string& name, const std::string& walk, const struct stat& st) {
  const ScanFilter& f = cfg_.openFilter;
  if (f.byName(name)) return true;
  std::string inode = inodeOf(st);
  // writableAt_ is kept only while loans are made (admitNs): without it, nothing is remembered
  if (cfg_.admitNs == 0 || writableAt_.count(inode) != 0 || sharedInodes_.count(inode) != 0) return f.byMagic(walk).value_or(true);
  std::string stamp = stampOf(st);
  auto known = magicByStamp_.find(stamp);
  if (known != magicByStamp_.end()) return known->second;
  std::optional<bool> magic = f.byMagic(walk);
  if (!magic) return true;  // cannot tell: ask (and look again next time)
  if (magicByStamp_.size() >= kMaxAdmissions) magicByStamp_.clear();  // bounded; refilled as opens come
  return magicByStamp_[stamp] = *magic;
}

// A loan JavaScript wrote (src/native/index.ts): "<sha256> exec|open", for an exec then
// " <sha256> <name>" of the ELF interpreter it judged clean with the program
std::optional<Tracer::Note> Tracer::noteOf(const std::string& note) {
  Note n;
  size_t space = note.find(' ');
  if (space == std::string::npos) return std::nullopt;
  n.sha256 = note.substr(0, space);
  size_t end = note.find(' ', space + 1);
  std::string scope = note.substr(space + 1, end == std::string::npos ? std::string::npos : end - space - 1);
  if (scope != "exec" && scope != "open") return std::nullopt;
  n.exec = scope == "exec";
  if (end != std::string::npos) {
    size_t at = note.find(' ', end + 1);
    if (!n.exec || at == std::string::npos || at + 1 >= note.size()) return std::nullopt;
    n.interpSha256 = note.substr(end + 1, at - end - 1);
    n.interp = note.substr(at + 1);
  }
  return n;
}

Tracer::Admission* Tracer::loanFor(const std::string& path, const struct stat& st, bool exec) {
  auto it = admissions_.find(path);
  if (it == admissions_.end() && !cfg_.lentByStamp.empty()) {
    // lent before the run: valid as a loan taken at the start, under this very stat
    auto lent = cfg_.lentByStamp.find(stampOf(st));
    auto note = lent == cfg_.lentByStamp.end() ? std::nullopt : noteOf(lent->second);
    if (note) {
      lend(path, st, 0, *note, startedNs_);
      it = admissions_.find(path);
    }
  }
  if (it == admissions_.end()) return nullptr;
  Admission& a = it->second;
  if (!a.exec && exec) return nullptr;  // lent for opens: still good for them
  std::string inode = inodeOf(st);
  auto w = writableAt_.find(inode);
  // a loan is made only while no traced task holds the file writable: a holder now opened it since
  bool valid = sameStat(a.st, st) && monotonicNs() < a.until && (w == writableAt_.end() || w->second <= a.epoch) &&
               !heldWritable(inode);
  if (!valid) {
    admissions_.erase(it);  // none of these comes back
    return nullptr;
  }
  return &a;
}

bool Tracer::readmit(const char* call, const std::string& path, const struct stat& st, const Origin& o) {
  bool exec = isExecCall(call);
  Admission* a = loanFor(path, st, exec);
  if (a == nullptr) return false;
  std::string sha256 = a->sha256;
  // the kernel loads an ELF program's interpreter with it, by no call: its loan must hold as well
  std::string interp, interpSha256;
  if (exec) {
    if (!a->interp) a->interp = elfInterpreter(path);  // the same bytes while the stat is the same
    if (!a->interp) return false;
    if (!a->interp->empty()) {
      // the loan is by the name a decision gave it (worked out once: ~50 µs through /lib64's links);
      // the file is the one the task's own walk reaches now, whose stat the loan must match
      if (a->interpLoan.empty()) a->interpLoan = nameForTask(o.tid, *a->interp);
      interp = a->interpLoan;
      std::string walk = tracedPath(o.tid, AT_FDCWD, *a->interp, true);
      struct stat ist;
      const Admission* in = stat(walk.c_str(), &ist) == 0 && S_ISREG(ist.st_mode) ? loanFor(interp, ist, true) : nullptr;
      if (in == nullptr) return false;
      interpSha256 = in->sha256;
    }
  }
  // the events the scanner's own decision makes: the program's verdict, then its interpreter's
  emit(Kind::ScanVerdict, o, [&](Record& r) { r.str(path).str(sha256).str(exec ? "exec" : "open"); });
  if (!interp.empty()) emit(Kind::ScanVerdict, o, [&](Record& r) { r.str(interp).str(interpSha256).str("exec"); });
  return true;
}

Tracer::Admission& Tracer::lend(const std::string& path, const struct stat& st, uint64_t epoch, const Note& note, uint64_t from) {
  if (admissions_.size() >= kMaxAdmissions) admissions_.clear();  // bounded; the next questions refill it
  return admissions_[path] = Admission{st, epoch, from + cfg_.admitNs, note.sha256, note.exec, std::nullopt, ""};
}

}  // namespace eyrie
