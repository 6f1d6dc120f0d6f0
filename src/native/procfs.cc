#include "procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace eyrie {

namespace {

std::string readLink(const char* path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return "";
  return std::string(buf, static_cast<size_t>(n));
}

/** The first `max` bytes of a small /proc file, "" when it cannot be read. read(), not a stream: a
 *  task that dies between the open and the read fails the read (ESRCH), and libstdc++'s filebuf
 *  throws on that from an istreambuf_iterator, which ended the recorder. */
std::string readSmall(const char* path, size_t max) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return "";
  std::string out(max, '\0');
  ssize_t n = read(f, out.data(), max);
  close(f);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

/** Canonical path of an existing object, through the kernel's own walk. */
std::string canonical(const std::string& path, bool follow, bool directory) {
  int flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW) | (directory ? O_DIRECTORY : 0);
  int fd = open(path.c_str(), flags);
  if (fd < 0) return "";
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  std::string out = readLink(self);
  close(fd);
  return out.empty() || out[0] != '/' ? "" : out;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

std::string fdLink(pid_t tid, int fd) { return "/proc/" + std::to_string(tid) + "/fd/" + std::to_string(fd); }

std::string baseOf(pid_t tid, int dirfd) {
  return dirfd == AT_FDCWD ? "/proc/" + std::to_string(tid) + "/cwd" : fdLink(tid, dirfd);
}

std::string fdPath(pid_t tid, int fd) { return readLink(fdLink(tid, fd).c_str()); }

bool fdStat(pid_t tid, int fd, struct stat& st) { return stat(fdLink(tid, fd).c_str(), &st) == 0; }

bool fdInfo(pid_t tid, int fd, uint64_t& pos, int& flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", tid, fd);
  const std::string info = readSmall(path, 511);
  const char* p = strstr(info.c_str(), "pos:");
  const char* q = strstr(info.c_str(), "flags:");
  if (p == nullptr || q == nullptr) return false;
  pos = strtoull(p + 4, nullptr, 10);
  flags = static_cast<int>(strtol(q + 6, nullptr, 8));
  return true;
}

TaskStat taskStat(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", tid);
  const std::string stat = readSmall(path, 1024);
  size_t close = stat.rfind(')');  // "pid (comm) state ppid ...": comm may hold ')' and spaces
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 2));
  TaskStat s;
  rest >> s.state >> s.ppid;
  return s;
}

pid_t parentOf(pid_t pid) { return taskStat(pid).ppid; }

std::string cwdOf(pid_t tid) { return readLink(baseOf(tid, AT_FDCWD).c_str()); }

std::vector<int> openFds(pid_t pid) {
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
  std::vector<int> fds;
  if (DIR* d = opendir(dir)) {
    while (dirent* x = readdir(d)) {
      char* end;
      long fd = strtol(x->d_name, &end, 10);
      if (*end == 0 && x->d_name[0] != 0) fds.push_back(static_cast<int>(fd));
    }
    closedir(d);
  }
  std::sort(fds.begin(), fds.end());
  return fds;
}

const char* typeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    default: return "file";
  }
}

std::string inodeOf(const struct stat& st) {
  char buf[64];
  snprintf(buf, sizeof buf, "%llu:%llu", static_cast<unsigned long long>(st.st_dev),
           static_cast<unsigned long long>(st.st_ino));
  return buf;
}

int reopenFd(pid_t tid, int fd) { return open(fdLink(tid, fd).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); }

namespace {
const std::string kDeleted = " (deleted)";
}

bool deletedName(const std::string& path) {
  return path.size() >= kDeleted.size() && path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
}

bool stripDeleted(std::string& path) {
  if (!deletedName(path)) return false;
  path.resize(path.size() - kDeleted.size());
  return true;
}

std::string normalise(const std::string& abs) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= abs.size()) {
    size_t j = abs.find('/', i);
    if (j == std::string::npos) j = abs.size();
    std::string c = abs.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string seenBy(pid_t tid, const std::string& path) {
  auto under = [&](const char* dir) {
    size_t n = strlen(dir);
    return path.compare(0, n, dir) == 0 && (path.size() == n || path[n] == '/') ? n : 0;
  };
  std::string self = "/proc/" + std::to_string(tid);
  // the /dev names glibc and shells use for a process's own fds (links into /proc/self on Linux)
  struct DevLink { const char* name; const char* as; bool usual; };
  // only where the link is the usual one (read once): elsewhere the name means what the host's says
  static const std::vector<DevLink> kDev = [] {
    std::vector<DevLink> v{{"/dev/fd", "/fd", false}, {"/dev/stdin", "/fd/0", false}, {"/dev/stdout", "/fd/1", false}, {"/dev/stderr", "/fd/2", false}};
    for (auto& d : v) d.usual = readLink(d.name) == std::string("/proc/self") + d.as;
    return v;
  }();
  for (const auto& d : kDev) {
    size_t n = under(d.name);
    if (n == 0) continue;
    return d.usual ? self + d.as + path.substr(n) : path;
  }
  if (size_t n = under("/proc/self")) return self + path.substr(n);
  if (size_t n = under("/proc/thread-self")) return self + path.substr(n);
  return path;
}

namespace {
std::string canonicalFor(pid_t tid, int dirfd, const std::string& raw, bool directory, std::string* walk);
}  // namespace

std::string resolvePath(pid_t tid, int dirfd, const std::string& name, bool followLast, std::string* walk) {
  if (name.empty()) return "";
  const std::string path = name[0] == '/' ? seenBy(tid, name) : name;
  bool absolute = path[0] == '/';
  // the kernel's walk, made here as the tracee's (tracedPath: its /proc/self, its root and mounts),
  // then the name the host knows that file by
  if (followLast) {
    std::string c = canonicalFor(tid, dirfd, path, false, walk);
    if (!c.empty()) return c;
  }
  // the parent directory, through the kernel; the last name as given
  size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) return "/";  // "/", "//": the root itself
  size_t slash = path.rfind('/', end);
  std::string last = path.substr(slash == std::string::npos ? 0 : slash + 1, end - (slash == std::string::npos ? 0 : slash + 1) + 1);
  std::string dirPart = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  if (last == "." || last == "..") {
    std::string c = canonicalFor(tid, dirfd, path, true, nullptr);
    if (!c.empty()) return c;
  } else {
    std::string c = canonicalFor(tid, dirfd, dirPart.empty() ? (absolute ? "/" : ".") : dirPart, true, nullptr);
    if (!c.empty()) return join(c, last);
  }
  // nothing to walk (the call will fail, or a race removed it): say what the name meant lexically
  std::string base = absolute ? "" : readLink(baseOf(tid, dirfd).c_str());
  if (!absolute && (base.empty() || base[0] != '/')) return "";
  return normalise(absolute ? path : base + "/" + path);
}

std::string walkPath(pid_t tid, int dirfd, const std::string& path) {
  return !path.empty() && path[0] == '/' ? seenBy(tid, path) : baseOf(tid, dirfd) + "/" + path;
}

namespace {

/** /proc/PID/{cwd,root,exe,fd/N} (or a thread's under task/TID): links the kernel follows into what
 *  that process holds, whatever their text says. */
bool processLink(const std::string& p) {
  auto digits = [&p](size_t& i) {
    size_t from = i;
    while (i < p.size() && isdigit(static_cast<unsigned char>(p[i])) != 0) i++;
    return i > from;
  };
  size_t i = 6;
  if (p.compare(0, 6, "/proc/") != 0 || !digits(i) || p[i] != '/') return false;
  std::string rest = p.substr(i + 1);
  if (rest.compare(0, 5, "task/") == 0) {
    size_t j = i + 6;
    if (!digits(j) || p[j] != '/') return false;
    rest = p.substr(j + 1);
  }
  if (rest == "cwd" || rest == "root" || rest == "exe") return true;
  size_t k = p.size() - rest.size() + 3;
  return rest.compare(0, 3, "fd/") == 0 && digits(k) && k == p.size();
}

bool sameFile(const std::string& a, const std::string& b) {
  struct stat x, y;
  return stat(a.c_str(), &x) == 0 && stat(b.c_str(), &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/** The kernel's walk of `raw` for tracee tid, made by eyrie: each symlink expanded as the tracee
 *  sees it, `..` taken on what was walked (no symlink is left in it), never above `root` ("" the
 *  host's). `base`: where a relative name starts (a link into the tracee: its cwd, a dirfd).
 *  `own`: /proc/self and /dev/fd are the tracee's (not under RESOLVE_IN_ROOT, which has none). */
std::string walkBelow(pid_t tid, const std::string& root, const std::string& base, const std::string& raw, bool followLast, bool own) {
  const std::string self = std::to_string(getpid());
  std::string start = base;       // a directory the kernel reaches by itself (the root, a link it follows)
  std::vector<std::string> done;  // names walked below start, none of them a symlink
  std::vector<std::string> todo;  // names still to walk, the next one last
  auto push = [&todo](const std::string& path) {
    std::vector<std::string> parts;
    for (size_t i = 0; i <= path.size();) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      if (j > i) parts.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  auto here = [&](const std::string* next) {
    std::string out = start;
    for (const auto& d : done) out += "/" + d;
    if (next != nullptr) out += "/" + *next;
    return out.empty() ? std::string("/") : out;
  };
  auto absolute = [&](const std::string& path) {
    std::string mine = own ? seenBy(tid, path) : path;
    start = mine != path ? "" : root;  // the tracee's /proc entry is the host's
    done.clear();
    push(mine);
  };
  if (raw[0] == '/') absolute(raw);
  else push(raw);
  for (int links = 0; !todo.empty();) {
    std::string name = todo.back();
    todo.pop_back();
    if (name == ".") continue;
    if (name == "..") {
      if (!done.empty()) done.pop_back();
      else if (start != root && !sameFile(start.empty() ? "/" : start, root.empty() ? "/" : root)) start += "/..";
      continue;  // (at the root: it stays there)
    }
    std::string next = here(&name);
    struct stat st;
    if (processLink(next)) {
      start = next;  // the kernel follows it into what the process holds
      done.clear();
      continue;
    }
    if ((todo.empty() && !followLast) || lstat(next.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      done.push_back(name);
      continue;
    }
    std::string target = readLink(next.c_str());
    if (target.empty() || ++links > 40) return next;  // the kernel will say what is wrong
    // /proc/self and /proc/thread-self reached by name: read by eyrie, they say eyrie's own pid
    if (own && (target == self || target.compare(0, self.size() + 6, self + "/task/") == 0)) target = "/proc/" + std::to_string(tid);
    if (target[0] == '/') absolute(target);
    else push(target);
  }
  return here(nullptr);
}

}  // namespace

std::string rootBase(pid_t tid) {
  // the directory and the mount the tracee's root is: a mount belongs to one namespace, so eyrie's own
  // root directory on eyrie's own root mount means the same root and the same mounts (one statx; a
  // stat of its ns/mnt and a readlink of its root took three times as long)
  auto id = [](const char* path, struct statx& x) {
    return statx(AT_FDCWD, path, 0, STATX_INO | STATX_MNT_ID, &x) == 0 && (x.stx_mask & STATX_MNT_ID) != 0;
  };
  static struct statx host{};
  static const bool known = id("/", host);
  const std::string root = "/proc/" + std::to_string(tid) + "/root";
  struct statx x{};
  if (!id(root.c_str(), x)) return "";  // gone: nothing to tell
  bool same = known && x.stx_mnt_id == host.stx_mnt_id && x.stx_ino == host.stx_ino && x.stx_dev_major == host.stx_dev_major &&
              x.stx_dev_minor == host.stx_dev_minor;
  return same ? "" : root;
}

namespace {

/** walkBelow in one call, where it can be: for a tracee under eyrie's root and mounts, the kernel's
 *  own walk (openat2) reaches what the tracee's would, except through links that differ by who
 *  follows them. Magic links (/proc/PID/{fd/N,cwd,root,exe}, and /dev/fd/N, /dev/stdin through
 *  them) are refused (RESOLVE_NO_MAGICLINKS); /proc/self is an ordinary link naming the reader, so a
 *  walk that ends in /proc may have gone through eyrie's own: both are left to walkBelow (nullopt), as
 *  is a name that reaches nothing and a tracee with a root of its own (`root`, rootBase's). Otherwise
 *  the canonical name of what it reached (`flags`: O_NOFOLLOW, O_DIRECTORY). A loader's
 *  /lib/x86_64-linux-gnu/libc.so.6 took ~8 calls (an lstat per name, a readlink per link), now 3. */
std::optional<std::string> kernelWalk(pid_t tid, const std::string& root, int dirfd, const std::string& raw, int flags) {
  if (!root.empty()) return std::nullopt;
  int base = AT_FDCWD;  // an absolute name: the tracee's root is eyrie's
  if (raw[0] != '/' && (base = open(baseOf(tid, dirfd).c_str(), O_PATH | O_CLOEXEC | O_DIRECTORY)) < 0) return std::nullopt;
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC | flags;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, base, raw.c_str(), &how, sizeof how));
  if (base != AT_FDCWD) close(base);
  if (fd < 0) return std::nullopt;
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  std::string out = readLink(self);
  close(fd);
  auto endsWith = [&out](std::string_view tail) { return out.size() >= tail.size() && out.compare(out.size() - tail.size(), tail.size(), tail) == 0; };
  if (out.empty() || out[0] != '/' || out == "/proc" || out.compare(0, 6, "/proc/") == 0 || endsWith(" (deleted)")) return std::nullopt;
  return out;
}

/** The canonical name of what `raw` (its last name followed) names for the tracee, "" for nothing (or
 *  no directory, when one is wanted); `walk`, if given, receives a name the host can walk to it. */
std::string canonicalFor(pid_t tid, int dirfd, const std::string& raw, bool directory, std::string* walk) {
  const std::string root = rootBase(tid);
  if (auto c = kernelWalk(tid, root, dirfd, raw, directory ? O_DIRECTORY : 0)) {
    if (walk != nullptr) *walk = *c;
    return *c;
  }
  std::string w = walkBelow(tid, root, baseOf(tid, dirfd), raw, true, true);
  if (walk != nullptr) *walk = w;
  return canonical(w, true, directory);
}

}  // namespace

std::string tracedPath(pid_t tid, int dirfd, const std::string& raw, bool followLast) {
  if (raw.empty()) return baseOf(tid, dirfd);
  const std::string root = rootBase(tid);
  if (auto w = kernelWalk(tid, root, dirfd, raw, followLast ? 0 : O_NOFOLLOW)) return *w;
  return walkBelow(tid, root, baseOf(tid, dirfd), raw, followLast, true);
}

std::string inRootPath(pid_t tid, int dirfd, const std::string& raw, bool followLast) {
  const std::string root = baseOf(tid, dirfd);
  return walkBelow(tid, root, root, raw, followLast, false);
}

std::string judgedName(const std::string& canonical, const std::string& walk, bool follow) {
  if (walk == canonical) return canonical;  // one name (the kernel's walk made it): nothing to tell apart
  struct stat w, c;
  if ((follow ? stat(walk.c_str(), &w) : lstat(walk.c_str(), &w)) != 0) return canonical;
  if (!canonical.empty() && stat(canonical.c_str(), &c) == 0 && c.st_dev == w.st_dev && c.st_ino == w.st_ino) return canonical;
  return walk;
}

std::string nameForTask(pid_t tid, const std::string& name) {
  if (name.empty()) return "";
  std::string walk;
  std::string c = resolvePath(tid, AT_FDCWD, name, true, &walk);
  std::string judged = judgedName(c, walk, true);
  return judged.empty() ? walkPath(tid, AT_FDCWD, name) : judged;
}

bool existsFor(pid_t tid, int dirfd, const std::string& path) {
  if (path.empty()) return false;  // the call fails with ENOENT; nothing to look at
  struct stat st;
  return lstat(walkPath(tid, dirfd, path).c_str(), &st) == 0;
}

std::vector<Mapping> fileMappings(pid_t tid) {
  std::vector<Mapping> out;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", tid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return out;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    unsigned long long start, end, offset, inode;
    char perms[8];
    int consumed = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %*s %llu %n", &start, &end, perms, &offset, &inode, &consumed) < 5 || inode == 0)
      continue;
    std::string name = line + consumed;
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (name.empty() || name[0] != '/') continue;
    int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
    out.push_back(Mapping{start, end, offset, prot, perms[3] == 's', static_cast<uint64_t>(inode), name});
  }
  free(line);
  fclose(f);
  return out;
}

std::vector<pid_t> listDir(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char* end;
    long v = strtol(e->d_name, &end, 10);
    if (*end == 0 && v > 0) out.push_back(static_cast<pid_t>(v));
  }
  closedir(d);
  return out;
}

std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t tid : listDir("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/children");
    pid_t c;
    while (f >> c) out.push_back(c);
  }
  return out;
}

std::vector<pid_t> processTree(pid_t root) {
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); i++)
    for (pid_t c : childrenOf(out[i])) out.push_back(c);
  return out;
}

pid_t wakeTarget(pid_t root) {
  // running or sleeping: it takes the signal and reports it (not one in an uninterruptible wait,
  // stopped already, or a zombie, where the signal would be lost)
  auto takes = [](pid_t p) {
    char s = taskStat(p).state;
    return s == 'R' || s == 'S';
  };
  if (takes(root)) return root;
  for (pid_t p : processTree(root))
    if (takes(p)) return p;
  return root;
}

}  // namespace eyrie
