// Permissions and owners. chmod, fchmodat(2), chown, lchown and fchownat stop (their exit stats the
// file they changed); fchmod and fchown do not: tar restores 7,000 modes and owners through
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

void Tracer::attributesExit(Task& t, const Origin& o) {
  const Call& c = t.call;
  const uint64_t* a = c.args;
  long nr = c.nr;
  bool at = nr == SYS_fchmodat || nr == SYS_fchmodat2 || nr == SYS_fchownat;
  bool owner = nr == SYS_chown || nr == SYS_lchown || nr == SYS_fchownat;
  // fchmodat2 and fchownat take AT_SYMLINK_NOFOLLOW (a symlink's own mode cannot change: that
  // fails; its owner can) and AT_EMPTY_PATH (the file dirfd holds); lchown never follows
  int flags = nr == SYS_fchmodat2 ? static_cast<int>(a[3]) : nr == SYS_fchownat ? static_cast<int>(a[4]) : 0;
  bool nofollow = nr == SYS_lchown || (flags & AT_SYMLINK_NOFOLLOW) != 0;
  int dirfd = at ? asFd(a[0]) : AT_FDCWD;
  std::string raw;
  if (!readString(t.tid, a[at ? 1 : 0], raw, PATH_MAX)) return;
  bool byFd = raw.empty() && (flags & AT_EMPTY_PATH) != 0;
  std::string path = byFd ? fdPath(t.tid, dirfd) : resolvePath(t.tid, dirfd, raw, !nofollow);
  struct stat st;
  std::string walk = walkPath(t.tid, dirfd, raw);
  bool found = byFd ? fdStat(t.tid, dirfd, st) : (nofollow ? lstat(walk.c_str(), &st) : stat(walk.c_str(), &st)) == 0;
  stripDeleted(path);
  if (found) attributesSeen(path, st, owner ? Changed::Owner : Changed::Mode, nofollow && S_ISLNK(st.st_mode), o);
}

}  // namespace eyrie
