// What /proc says about a tracee: its fds, its working directory, and paths resolved the way the
// kernel resolved them for it (through /proc/TID/cwd and /proc/TID/fd/N, so symlinks and `..` come
// out canonical).
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace eyrie {

/** /proc/TID/fd/FD: the tracee's descriptor as a name the host can open (the file itself). */
std::string fdLink(pid_t tid, int fd);
/** Where a relative name starts for the tracee: its cwd or the directory an fd refers to (a link
 *  the host can walk through). */
std::string baseOf(pid_t tid, int dirfd);
/** readlink of /proc/TID/fd/FD ("" when the fd is not open). */
std::string fdPath(pid_t tid, int fd);
/** stat through the fd's magic link: the open file itself. */
bool fdStat(pid_t tid, int fd, struct stat& st);
/** pos and flags from /proc/TID/fdinfo/FD. flags include O_CLOEXEC when close-on-exec is set. */
bool fdInfo(pid_t tid, int fd, uint64_t& pos, int& flags);
std::string cwdOf(pid_t tid);
std::string inodeOf(const struct stat& st);
/** The fds a process has open now (/proc/PID/fd), in ascending order; none if it is gone. */
std::vector<int> openFds(pid_t pid);
/** A node's type as the events name it (FsNode's): file, dir, symlink, fifo, socket, char, block. */
const char* typeName(mode_t mode);
/** Opens the tracee's fd anew for reading (a new open file description: its own position). */
int reopenFd(pid_t tid, int fd);

/** An absolute name as tracee tid means it where the host would take it for eyrie's own process:
 *  /proc/self, /proc/thread-self, /dev/fd and /dev/std{in,out,err} lead to the tracee's /proc entry
 *  (its fds: fexecve's /proc/self/fd/N, a shell's /dev/fd/N). Other names are returned as they are.
 *  A thread's /proc/TID stands for /proc/self: the same unless it unshared its fd table. */
std::string seenBy(pid_t tid, const std::string& path);
/** A name the host can walk now to reach what `path` names for the tracee (not canonical: through
 *  /proc/TID/cwd or /proc/TID/fd/DIRFD when relative). `path` must not be empty. */
std::string walkPath(pid_t tid, int dirfd, const std::string& path);
/** A name the host can walk now to reach what `raw` names for the tracee, with every symlink on the
 *  way expanded as the kernel does for the tracee (one leading to /proc/self or /dev/fd leads to the
 *  tracee's, not eyrie's); the kernel's per-process links under /proc/TID are left to the kernel.
 *  One openat2 where the kernel's own walk is the tracee's, else an lstat per name on the way. */
std::string tracedPath(pid_t tid, int dirfd, const std::string& raw, bool followLast);
/** Where tracee tid's absolute names start: "" for the host's root and mounts (eyrie's), else its
 *  /proc/TID/root (a chroot, a mount namespace of its own: unshare -m, a container), which eyrie
 *  walks into as the kernel walks for the tracee. */
std::string rootBase(pid_t tid);
/** openat2's RESOLVE_IN_ROOT: what `raw` names for the tracee with dirfd as the root ("/", ".." and
 *  absolute symlinks stay below it), as a name the host can walk now (through /proc/TID/fd/DIRFD). */
std::string inRootPath(pid_t tid, int dirfd, const std::string& raw, bool followLast);
/** The name a scan reads a file by: its canonical name while that leads to the file the tracee
 *  reaches by `walk` (tracedPath's, or /proc/TID/fd/N), else `walk` itself: a memfd, an O_TMPFILE
 *  file or an unlinked one reached through an fd has no name the host can open, and a verdict on
 *  whatever else bears its name would be on the wrong bytes. Valid while the tracee is stopped. */
std::string judgedName(const std::string& canonical, const std::string& walk, bool follow);

/** Canonical absolute path of `path` as tracee tid sees it relative to dirfd (AT_FDCWD or an fd).
 *  followLast: resolve a final symlink (open, truncate, exec); otherwise only the parent directory
 *  is resolved and the last name is kept (unlink, rename, mkdir: the name itself is the subject).
 *  A parent that does not exist falls back to lexical resolution. "" when nothing can be said.
 *  `walk`, with followLast: receives the tracedPath it walked (a decision's judgedName wants it too). */
std::string resolvePath(pid_t tid, int dirfd, const std::string& path, bool followLast, std::string* walk = nullptr);
/** The name a decision reads the file by that tracee tid reaches by `name` from its cwd (judgedName
 *  of its canonical name and tracedPath): what the kernel walks for it without a call, an exec's `#!`
 *  or ELF interpreter. "" for an empty name. */
std::string nameForTask(pid_t tid, const std::string& name);
/** Whether `path`, as the tracee would resolve it from dirfd, names something now (the last name
 *  not followed): one lstat, without working out the canonical name. */
bool existsFor(pid_t tid, int dirfd, const std::string& path);

/** State letter and parent of a task, from /proc/TID/stat (state '\0', parent 0: it is gone). */
struct TaskStat {
  char state = '\0';
  pid_t ppid = 0;
};
TaskStat taskStat(pid_t tid);
pid_t parentOf(pid_t pid);

/** Whether a name /proc shows ends in the kernel's " (deleted)" (the name is gone). */
bool deletedName(const std::string& path);
/** Takes the kernel's " (deleted)" off a name /proc shows; whether it was there. */
bool stripDeleted(std::string& path);

/** Lexically normalised absolute path (collapses //, ., ..). */
std::string normalise(const std::string& abs);

/** A file mapping from /proc/TID/maps (a name starting with '/', a non-zero inode). A mapping whose
 *  file was unlinked has the name with " (deleted)" appended, as the kernel writes it. */
struct Mapping {
  uint64_t start, end, offset;
  int prot;     // PROT_* now
  bool shared;  // MAP_SHARED: stores reach the file
  uint64_t ino;  // the device in /proc/TID/maps is not always st_dev (overlayfs): stat the mapping
  std::string path;
  bool sharedWritable() const { return shared && (prot & PROT_WRITE) != 0; }
};
std::vector<Mapping> fileMappings(pid_t tid);

/** The pids named in a directory (/proc/PID/task: the threads). */
std::vector<pid_t> listDir(const std::string& dir);
/** Children of a process, from every one of its threads. */
std::vector<pid_t> childrenOf(pid_t pid);
/** The process and its descendants (thread group ids). */
std::vector<pid_t> processTree(pid_t root);
/** Where a wake-up signal for the tracer goes: the root of the tree while it runs or sleeps, else
 *  (in an uninterruptible wait: a vfork parent, a hung NFS call; stopped; a zombie) the first
 *  process of its tree that does: the signal would wait with the root, and the tracer in waitpid. */
pid_t wakeTarget(pid_t root);

}  // namespace eyrie
