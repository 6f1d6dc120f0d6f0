// Permissions and owners. chmod, fchmodat(2), chown, lchown and fchownat stop at entry, where the file
// is named; what they changed is read from it at the task's next stop (readLater; an exit stop
// where every call stops anyway); fchmod and fchown do not stop: tar restores 7,000 modes and owners through
// descriptors, 28,000 stops it would make. A change through a descriptor is seen where the
// descriptor goes: its close, an exec (close-on-exec ones), the exit of the last task holding its
// table; the stat there is compared with what the journal says last for the inode (attrs_: every
// open's fstat, mkdir's stat, R(0)'s through noteHeld, and these events), and only a difference is
// journaled, or all of it for a node whose attributes the journal never said (an fd received from
// a process outside the recording).
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "filter.h"
#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

/** A node opened by name (a file, directory, fifo or device): not a pipe or socket, which have no
 *  mode worth telling. */
bool namedNode(const FdEntry& e) { return !e.inode.empty() && !e.path.empty() && e.path[0] == '/'; }

}  // namespace

void Tracer::recordAttributes(Record& r, const struct stat* st) {
  bool seen = st != nullptr;
  Attributes a = seen ? Attributes::of(*st) : Attributes{};
  r.nullableNum(seen, a.mode).nullableNum(seen, a.uid).nullableNum(seen, a.gid);
}

void Tracer::attributesSeen(const std::string& path, const struct stat& st, Changed call, bool nofollow, const Origin& o) {
  Attributes now = Attributes::of(st);
  std::string inode = inodeOf(st);
  auto it = attrs_.find(inode);
  bool known = it != attrs_.end();
  // (a symlink's own mode is always 0777, and file.chmod follows symlinks: none for one)
  bool mode = !S_ISLNK(st.st_mode) && (call == Changed::Mode || call == Changed::All || !known || it->second.mode != now.mode);
  bool owner = call == Changed::Owner || call == Changed::All || !known || it->second.uid != now.uid || it->second.gid != now.gid;
  attrs_[inode] = now;
  if (path.empty() || path[0] != '/') return;
  if (mode) emit(Kind::FileChmod, o, [&](Record& r) { r.str(path).num(now.mode).nullableStr(inode); });
  if (owner) emit(Kind::FileChown, o, [&](Record& r) { r.str(path).num(now.uid).num(now.gid).nullableStr(inode).flag(nofollow); });
}

void Tracer::attributesAtClose(Task& t, int fd, const FdEntry& e, const Origin& o) {
  struct stat st;
  if (!namedNode(e) || !statOf(t.tid, fd, e.inode, st)) return;
  // the usual case: one stat (of eyrie's own fd for a file written without stops), nothing changed
  auto it = attrs_.find(inodeOf(st));
  if (it != attrs_.end() && it->second == Attributes::of(st)) return;
  std::string path = fdPath(t.tid, fd);
  stripDeleted(path);
  attributesSeen(path, st, Changed::Nothing, false, o);
}

void Tracer::noteHeld(Task& t, bool ownCloexec) {
  for (int fd : openFds(t.tid)) {
    const FdEntry* e = fdOf(t, fd);
    if (e == nullptr) continue;
    // a recorded command's close-on-exec fds are the recorder's own (its journal): they close
    // before the command runs, and are none of its files
    if (ownCloexec && e->cloexec) {
      t.fds->fds.erase(fd);
      continue;
    }
    struct stat st;
    if (namedNode(*e) && fdStat(t.tid, fd, st)) noteAttributes(st);
  }
}

void Tracer::attributesMade(const std::string& path, const Origin& o) {
  struct stat st;
  if (!path.empty() && lstat(path.c_str(), &st) == 0) attributesSeen(path, st, Changed::All, S_ISLNK(st.st_mode), o);
}

namespace {

bool changesOwner(long nr) { return nr == SYS_chown || nr == SYS_lchown || nr == SYS_fchownat; }
bool namesAt(long nr) { return nr == SYS_fchmodat || nr == SYS_fchmodat2 || nr == SYS_fchownat; }
bool statName(const std::string& path, bool nofollow, struct stat& st) { return (nofollow ? lstat(path.c_str(), &st) : stat(path.c_str(), &st)) == 0; }

/** The file as the call asked it to be: its mode, or its owner and group (-1: left as they are). */
bool asAsked(const Call& c, const struct stat& st) {
  const uint64_t* a = c.args;
  if (!changesOwner(c.nr)) return (st.st_mode & 07777u) == (static_cast<uint32_t>(a[namesAt(c.nr) ? 2 : 1]) & 07777u);
  uint32_t uid = static_cast<uint32_t>(a[c.nr == SYS_fchownat ? 2 : 1]), gid = static_cast<uint32_t>(a[c.nr == SYS_fchownat ? 3 : 2]);
  return (uid == static_cast<uint32_t>(-1) || st.st_uid == uid) && (gid == static_cast<uint32_t>(-1) || st.st_gid == gid);
}

}  // namespace

bool Tracer::attributesEntry(Task& t) {
  Call& c = t.call;
  const uint64_t* a = c.args;
  long nr = c.nr;
  bool at = namesAt(nr);
  // fchmodat2 and fchownat take AT_SYMLINK_NOFOLLOW (a symlink's own mode cannot change: that
  // fails; its owner can) and AT_EMPTY_PATH (the file dirfd holds); lchown never follows
  int flags = nr == SYS_fchmodat2 ? static_cast<int>(a[3]) : nr == SYS_fchownat ? static_cast<int>(a[4]) : 0;
  bool nofollow = nr == SYS_lchown || (flags & AT_SYMLINK_NOFOLLOW) != 0;
  int dirfd = at ? asFd(a[0]) : AT_FDCWD;
  std::string raw;
  if (!readString(t.tid, a[at ? 1 : 0], raw, PATH_MAX)) return false;
  bool byFd = raw.empty() && (flags & AT_EMPTY_PATH) != 0;
  c.path = byFd ? fdPath(t.tid, dirfd) : resolvePath(t.tid, dirfd, raw, !nofollow);
  c.flags = nofollow ? AT_SYMLINK_NOFOLLOW : 0;
  // the file by its fd: its stat at the exit, through the fd, even once it has no name
  if (byFd) c.byFd = dirfd;
  stripDeleted(c.path);
  return !c.path.empty() && (byFd || !readLater(t));
}

void Tracer::attributesExit(Task& t, const Origin& o) {
  const Call& c = t.call;
  bool nofollow = c.flags != 0;
  struct stat st;
  bool found = c.byFd >= 0 ? fdStat(t.tid, c.byFd, st) : statName(c.path, nofollow, st);
  if (found) attributesSeen(c.path, st, changesOwner(c.nr) ? Changed::Owner : Changed::Mode, nofollow && S_ISLNK(st.st_mode), o);
}

void Tracer::dirMade(const std::string& path, const struct stat* st, const Origin& o) {
  if (st != nullptr) noteAttributes(*st);
  emit(Kind::FileMkdir, o, [&](Record& r) { recordAttributes(r.str(path), st); });
}

bool Tracer::readLater(Task& t) {
  if (cfg_.everyCall() || perWriteStops(t)) return false;  // its exit stops anyway: read there
  t.later = t.call;
  later_++;
  return true;
}

void Tracer::settleLater(Task& t, bool own, const Origin& o) {
  const Call& c = *t.later;
  bool mkdir = c.nr == SYS_mkdir || c.nr == SYS_mkdirat;
  bool nofollow = mkdir || c.flags != 0;
  struct stat st;
  bool seen = statName(c.path, nofollow, st);
  if (mkdir) {
    seen = seen && S_ISDIR(st.st_mode);
    if (!seen && !own) return;
    if (seen) dirMade(c.path, &st, o);
  } else {
    // once over, the call did what the file shows, no more: only a difference from what the
    // journal says is journaled (as at a close); still to run, it may not have changed anything yet
    if (!own && !(seen && asAsked(c, st))) return;
    if (seen) attributesSeen(c.path, st, own ? Changed::Nothing : changesOwner(c.nr) ? Changed::Owner : Changed::Mode, c.flags != 0 && S_ISLNK(st.st_mode), o);
  }
  t.later.reset();
  later_--;
}

void Tracer::settleOthersLater(pid_t current, uint64_t ts) {
  for (auto& [tid, u] : tasks_)
    if (tid != current && u.later) settleLater(u, false, Origin{static_cast<uint32_t>(u.tgid), static_cast<uint32_t>(tid), ts});
}

}  // namespace eyrie
