// The tracer: one thread that owns the ptrace relationship with every task of a recorded command
// (seccomp-bpf: stops only at the calls in filter.cc) or of an attached process tree (no filter can
// be injected there: it stops at every call, which is slower), and turns their file-state calls into
// records on the channel.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "channel.h"
#include "encode.h"
#include "pagemarks.h"
#include "procfs.h"
#include "scanfilter.h"
#include "stopstats.h"
#include "task.h"

namespace eyrie {

struct Config {
  enum class Mode { Record, Attach } mode = Mode::Record;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value"
  std::string cwd;
  int stdio[3] = {-1, -1, -1};  // fds of this process to install as 0-2; -1 inherits
  pid_t pid = 0;                // attach: the root of the tree
  bool decideExec = false;
  bool decideOpens = false;
  ScanFilter openFilter;  // with decideOpens: the opens worth asking about
  uint64_t admitNs = 0;   // how long a clean verdict JavaScript lends the tracer holds (0: none)
  // clean verdicts lent before the run, by host stamp "dev:ino:size:mtimeNs:ctimeNs" -> "<sha256> exec|open"
  std::unordered_map<std::string, std::string> lentByStamp;
  bool readPositionsOfReadOnly = true;  // fd.read/fd.seek also for read-only descriptions
  bool writeStops = false;  // record: stop at writes, reads, seeks (per-write history) instead of reading back
  // read back at every traced call of its writer up to this size (program order); larger, at the calls that show it
  uint64_t programOrderMax = 1 << 20;
  /** Stops at every call of the filter's table, the attachOnly ones included. */
  bool everyCall() const { return mode == Mode::Attach || writeStops; }
};

enum class StopMode : int { None = 0, Detach = 1, Kill = 2 };

class Tracer {
 public:
  Tracer(Config cfg, Channel& ch) : cfg_(std::move(cfg)), ch_(ch) {}
  /** Runs on the tracer thread until no task is left; the outcome goes to the channel. */
  void run();
  /** From any thread: detach from (attach) or kill (record) every task, then finish. */
  void requestStop(StopMode m);
  /** From any thread: read out every shared view (stopping their processes meanwhile), then send a
   *  Synced message carrying `generation` after the records. */
  void requestSync(uint64_t generation);

 private:
  // starting (spawn.cc, attach.cc)
  bool startRecord(Outcome& out);
  bool startAttach(Outcome& out);
  void readChildError(Outcome& out);
  bool seizeTree(Outcome& out);
  /** false: a stop was requested before every task had stopped */
  bool parkUntilStopped();
  void releaseVforkChildren();

  // the loop (tracer.cc)
  void loop();
  void onStop(pid_t tid, int status, uint64_t ts);
  void onGone(pid_t tid, int status, uint64_t ts);
  void onSpawn(Task& t, const Origin& o);
  void onExec(Task& t, uint64_t ts);
  void onExitEvent(Task& t, uint64_t ts);
  /** Process `leaving` is at its exit: its children are about to get another parent. */
  void orphaning(pid_t leaving);
  /** proc.reparent for `child` if /proc says it has another parent now. */
  void reparent(pid_t child, uint64_t ts);
  /** After process `gone` exited: its children's new parents, as /proc says. */
  void reparented(pid_t gone, uint64_t ts);
  void onSyscallStop(Task& t, uint64_t ts);
  void onSeccomp(Task& t, uint64_t ts);
  void resume(Task& t, int sig);
  void handleStopRequest();
  void detachStopped(Task& t, int sig);
  Task& addTask(pid_t tid);
  void updateWake();

  // calls whose order decides content or positions take turns per file (order.cc)
  struct Running {
    pid_t tid;
    int fd;
    bool write;
  };
  bool serialCall(Task& t, std::string& inode, int& fd, bool& write);
  bool conflicts(const Task& t, const Running& r) const;
  bool admit(Task& t);
  void leaveSerial(Task& t);
  void proceed(pid_t tid);

  // system calls (calls.cc, files.cc)
  bool entry(Task& t, const Origin& o);
  void exit(Task& t, int64_t ret, const Origin& o);
  /** inRoot: openat2's RESOLVE_IN_ROOT (dirfd is the root of the walk) */
  bool openEntry(Task& t, const Origin& o, int dirfd, uint64_t pathAddr, uint64_t flags, bool inRoot = false);
  void openExit(Task& t, int64_t ret, const Origin& o);
  bool openByHandleEntry(Task& t, const Origin& o);
  /** An open with these flags gets a decision: it can read, and not a directory (open entries add
   *  what they know: a file it creates has nothing to read) */
  bool asksAboutOpen(uint64_t flags) const;
  void loopExit(Task& t, int64_t ret, const Origin& o);
  // Linux AIO (aio.cc): io_submit's writes, journaled as file.write where writes are
  bool aioSubmitEntry(Task& t, const Origin& o);
  void aioSubmitExit(Task& t, int64_t ret, const Origin& o);
  /** Marks the pages of `f` eyrie has no mark for as recorded as they are (deferred.cc). */
  void markUnmarked(int f, const std::string& inode);
  struct Written;
  /** The file's stat says it holds what the last reading saw (that reading came a tick after mtime). */
  static bool unchanged(const Written& w, const struct stat& st);
  /** Reads a loop device's backing file through eyrie's own fd, unless unchanged since the last reading. */
  void readBacking(const std::string& inode, Written& w, const Origin& o);
  bool writeEntry(Task& t, const Origin& o);
  void writeExit(Task& t, int64_t ret, const Origin& o);
  bool copyEntry(Task& t, const Origin& o);
  void copyExit(Task& t, int64_t ret, const Origin& o);
  /** ioctl FICLONE/FICLONERANGE (reflinks: XFS, btrfs): a copy of another file's bytes into fd's. */
  bool cloneEntry(Task& t, const Origin& o);
  void cloneExit(Task& t, int64_t ret, const Origin& o);
  /** The bytes a copy or clone put at [offset, offset+n) of `out` (c.offset when located), read back
   *  from the file: the kernel moved them without passing them through the tracee. */
  void emitCopied(Task& t, int out, FdEntry& dst, size_t n, bool placed, const Origin& o);
  bool execEntry(Task& t, const Origin& o);
  void dupExit(Task& t, int64_t ret, const Origin& o);
  bool closeEntry(Task& t, const Origin& o);
  // permissions and owners (attributes.cc)
  struct Attributes {
    uint32_t mode;  // 07777
    uint32_t uid;
    uint32_t gid;
    static Attributes of(const struct stat& st) { return {st.st_mode & 07777u, st.st_uid, st.st_gid}; }
    bool operator==(const Attributes& b) const { return mode == b.mode && uid == b.uid && gid == b.gid; }
  };
  /** An open's or mkdir's stat of its node, as fd.open and file.mkdir carry it (each or none). */
  static void recordAttributes(Record& r, const struct stat* st);
  enum class Changed { Nothing, Mode, Owner, All };  // what a call changed (made): journaled even where it is the same
  /** file.chmod and file.chown for what a stat found: for what the call changed, and where it
   *  differs from what was journaled last for the inode (a descriptor's close: fchmod and fchown
   *  make no stop), or was never journaled (an fd from before the recording). */
  void attributesSeen(const std::string& path, const struct stat& st, Changed call, bool nofollow, const Origin& o);
  /** What an open or mkdir journaled with its node (a close compares with it). */
  void noteAttributes(const struct stat& st) { attrs_[inodeOf(st)] = Attributes::of(st); }
  /** A descriptor about to close: a mode or owner changed through it shows now. */
  void attributesAtClose(Task& t, int fd, const FdEntry& e, const Origin& o);
  /** The fds a task holds when eyrie begins (R(0)'s), in its table, and what R(0) says of their
   *  nodes' attributes in attrs_ (the same stat, the task stopped): a close compares with it. */
  void noteHeld(Task& t, bool ownCloexec);
  /** A node mknod, bind or symlink made (no open says its mode and owner): what lstat says. */
  void attributesMade(const std::string& path, const Origin& o);
  /** chmod, fchmodat(2), chown, lchown, fchownat at entry: the file they change, named (c.path);
   *  false: no exit stop (what they did is read later: readLater; or the name could not be read) */
  bool attributesEntry(Task& t);
  /** chmod, fchmodat(2), chown, lchown, fchownat that succeeded: the file they changed. */
  void attributesExit(Task& t, const Origin& o);
  /** A call whose outcome the file will show (chmod, chown, a mkdir; not where every call stops
   *  anyway) goes without its exit stop: it is read at the task's next stop (settleLater). true:
   *  so it goes. An exit stop costs the task ~25-90 us here: 7z's chmod of every file it
   *  extracts, tar's mkdir, fchownat and chmod of every directory. */
  bool readLater(Task& t);
  /** file.mkdir for a directory a call made (its stat, when there is one). */
  void dirMade(const std::string& path, const struct stat* st, const Origin& o);
  /** What t's call resumed without its exit did, as the file shows it. own: at t's next stop (the
   *  call is over: what shows is what it did, or nothing); else at another task's stop, where only
   *  its effect as asked counts (the call may not have run yet: it stays pending otherwise). */
  void settleLater(Task& t, bool own, const Origin& o);
  /** Every other task's pending call whose effect shows now: before the stop of `current` is handled. */
  void settleOthersLater(pid_t current, uint64_t ts);
  /** No other task that goes on holds t's fd table: its fds close with it. */
  bool lastHolder(const Task& t) const;
  /** t lets go of its fd table (its exit, eyrie's detach): if no other task holds it, a mode or
   *  owner changed through one of its fds (fchmod, fchown: no stop) shows now, as at a close. */
  void attributesLettingGo(Task& t, const Origin& o);
  void closeRangeExit(Task& t, const Origin& o);
  std::string pathArg(Task& t, int dirfd, uint64_t addr, bool followLast);
  /** The name a Unix socket address binds (resolved like any path), "" for another family, an
   *  unnamed or an abstract one. */
  std::string unixSocketName(Task& t, uint64_t addr, uint32_t len);
  FdEntry* fdOf(Task& t, int fd);
  bool wantPositions(const FdEntry* e) const;
  /** A memory call needs its exit (and a record) only where the journal may hold a file view. */
  static bool mayHoldView(const Task& t, uint64_t addr, uint64_t len) { return !t.mem || t.mem->mayHoldView(addr, len); }
  int decide(Task& t, const char* call, const std::string& path, uint64_t flags, const Origin& o, const struct stat* known = nullptr);
  // clean verdicts JavaScript lent for reuse (admissions.cc)
  struct Note {
    std::string sha256;
    bool exec = false;
    std::string interpSha256, interp;  // an exec's ELF interpreter, judged clean with it (or none)
  };
  static std::optional<Note> noteOf(const std::string& note);
  struct Admission;
  Admission* loanFor(const std::string& path, const struct stat& st, bool exec);
  bool readmit(const char* call, const std::string& path, const struct stat& st, const Origin& o);
  /** `from`: when the loan was taken (CLOCK_MONOTONIC ns); it holds admitNs from then */
  Admission& lend(const std::string& path, const struct stat& st, uint64_t epoch, const Note& note, uint64_t from);
  void noteWritable(const std::string& inode);
  bool heldWritable(const std::string& inode) const;
  bool passesOpenFilter(const std::string& name, const std::string& walk, const struct stat& st);
  void deny(Task& t, int err, const char* call, const std::string& path, const Origin& o);

  // io_uring (calls.cc): processes whose file operations may bypass the calls eyrie sees
  void noteIoUring(Task& t, UringVia via, int fd, const Origin& o);
  void findRings(pid_t pid, const Origin& o);

  // content fidelity (content.cc): old bytes of files that existed before, bytes of shared views
  void observeAtOpen(Task& t, int fd, FdEntry& e, uint64_t size, const Origin& o);
  void preimage(Task& t, int fd, FdEntry& e, uint64_t offset, uint64_t count, const Origin& o);
  void noteWritten(const std::string& inode, uint64_t offset, uint64_t len);
  bool locateWrite(Task& t, int fd, uint64_t& offset);

  // files written without stops, read back at observation points (deferred.cc)
  void adoptWritable(Task& t, int fd, FdEntry& e, bool empty, uint64_t size, const Origin& o);
  /** Reads back what the task wrote (program order, or the file its call shows), and what others
   *  wrote to the file its call shows. nr: the call at whose entry this is, -1 at the task's exit */
  void syncAtCall(Task& t, const Origin& o, int exposed, bool all, long nr);
  bool writingGoesOn(const Task& t, int fd, const FdEntry& e, long nr) const;
  /** Whether a live task with another descriptor table than t's holds the file open for writing. */
  bool writtenByOtherTable(const Task& t, const std::string& inode) const;
  void syncWritten(const std::string& inode, pid_t current, uint64_t ts);
  void syncAllWritten(uint64_t ts, bool last);
  void readBack(int f, const std::string& inode, const std::string& path, const Origin& o);
  /** readBack through eyrie's own fd on the file, else a reopen of tid's fd (closed after). */
  void readBackThrough(Written& w, pid_t tid, int fd, const std::string& inode, const Origin& o);
  void settleIfUnheld(const std::string& inode);
  /** No fd table holds it writable any more (or the run ends): it no longer counts as open, and its
   *  own fd goes. */
  void letGo(Written& w);
  /** The stat of the file fd names in tid, which eyrie knows as `inode`: through eyrie's own fd when
   *  it writes without stops, else through /proc. */
  bool statOf(pid_t tid, int fd, const std::string& inode, struct stat& st);
  void forgetPages(const std::string& inode, uint64_t from, uint64_t to);
  bool perWriteStops(const Task& t) const;
  void adoptInherited(Task& t);

  // shared file views (views.cc)
  void syncViews(Task& t, uint64_t lo, uint64_t hi, const Origin& o);
  void syncMapped(pid_t tid, const std::vector<Mapping>& maps, uint64_t lo, uint64_t hi, const std::string* only,
                  const Origin& o);
  void syncHolders(const std::string* inode, pid_t current, bool freezeThem, uint64_t ts);
  void syncFile(const std::string& path, pid_t current, uint64_t ts);
  void syncInode(const std::string& inode, pid_t current, uint64_t ts) { if (sharedInodes_.count(inode) != 0) syncHolders(&inode, current, false, ts); }
  void freeze(pid_t current, const std::unordered_set<const Memory*>& mems);
  void serveSyncRequest();
  void noteSharedMapping(Task& t, const std::string& inode);
  /** what the kernel mapped for a new program (itself, its interpreter): no mmap call shows them */
  void noteExecMappings(Task& t, const Origin& o) { mapsFromProc(t, 0, ~0ull, o); }
  void protectedInPart(Task& t, uint64_t addr, uint64_t len, const Origin& o);
  /** view.map for the file mappings /proc/PID/maps shows in [lo, hi) */
  void mapsFromProc(Task& t, uint64_t lo, uint64_t hi, const Origin& o);
  void remapFromProc(Task& t, uint64_t lo, uint64_t hi, const Origin& o);
  /** attach: the file mappings of a memory R(0) found are where its views are (and shared ones are
   *  read out from then on) */
  void noteFoundMappings(Task& t);
  /** After MADV_REMOVE over [lo, hi): the pages of the files behind its shared views are holes now. */
  void holesPunched(Task& t, uint64_t lo, uint64_t hi);

  template <typename Fill>
  void emit(Kind k, const Origin& o, Fill&& fill) {
    Channel::Writer w(ch_);
    Record r(w.out(), k, o);
    fill(r);
    r.end();
  }

  Config cfg_;
  Channel& ch_;
  std::unordered_map<pid_t, Task> tasks_;
  std::unordered_set<pid_t> goneEarly_;   // exited before their parent's fork event was seen
  std::unordered_set<pid_t> orphaning_;   // processes whose parent is exiting (their next stops look)
  bool denialJournaled_ = false;  // the last question's denial came with its access.denied journaled
  pid_t root_ = 0;
  bool starting_ = false;  // attach: stopping everyone for the snapshot; nothing is emitted yet
  bool detaching_ = false;
  uint64_t detachSince_ = 0;  // CLOCK_MONOTONIC ns of the first wait that found no task to let go
  static constexpr uint64_t kDetachGraceNs = 2'000'000'000;
  /** Detaching and no task reported: true once the grace is over (the rest are left to the kernel). */
  bool letRestGo();
  bool killing_ = false;
  Outcome outcome_;
  int errPipe_ = -1;
  std::atomic<int> stopMode_{0};
  std::atomic<pid_t> wakePid_{0};
  std::unordered_map<std::string, KnownRanges> known_;  // per inode "dev:ino"
  std::unordered_set<std::string> wholeKnown_;          // inodes whose every byte eyrie knows
  // file page -> mark of what was recorded there (views.cc, deferred.cc; pagemarks.h)
  PageHasher hasher_;
  std::unordered_map<std::string, PageMarks> pages_;     // per inode read back or with shared views
  std::unordered_set<std::string> sharedInodes_;         // inodes ever mapped shared through a writable fd
  struct Written {
    std::string path;      // a name it had (the fallback when no holder is left to read it through)
    uint64_t size = 0;     // size and mtime at the last reading
    int64_t mtime = -1;
    bool settled = false;  // that reading came a clock tick after mtime: unchanged stat = unchanged bytes
    bool open = false;     // some fd table may hold it writable
    int backing = -1;      // eyrie's fd on a file that backs a loop device (its writes have no call)
    // eyrie's own read-only fd on it while open: its stat at each stop of a writer and its readings
    // need no walk through /proc/PID/fd (a stat there cost ~3 us, a reopen and close ~5 us)
    int own = -1;
  };
  std::unordered_map<std::string, Written> written_;  // per inode written without stops
  struct Admission {
    struct stat st;       // taken before the question
    uint64_t epoch;       // writableEpoch_ when asked
    uint64_t until;       // CLOCK_MONOTONIC ns
    std::string sha256;
    bool exec;            // also for execs (not a #! script)
    std::optional<std::string> interp;  // PT_INTERP, once read ("" none)
    std::string interpLoan;             // the name its interpreter's loan is under, once known
  };
  static constexpr size_t kMaxAdmissions = 65536;
  std::unordered_map<std::string, Admission> admissions_;  // by path (admissions.cc)
  uint64_t startedNs_ = 0;                                 // CLOCK_MONOTONIC at start: cfg_.lentByStamp hold until + admitNs
  std::unordered_map<std::string, uint64_t> writableAt_;   // inode -> epoch of its last writable open
  std::unordered_map<std::string, bool> magicByStamp_;     // stat stamp -> its first bytes pass the open filter
  std::unordered_map<std::string, Attributes> attrs_;      // inode -> permissions and owner the journal says last
  uint64_t writableEpoch_ = 0;
  int openWritten_ = 0;                                // entries of written_ with open set
  int later_ = 0;                                      // tasks with a call in Task::later
  std::vector<uint8_t> readBuf_;
  std::unordered_set<pid_t> uringUsers_;                 // processes reported by proc.ioUring
  struct Turn {
    std::vector<Running> running;  // calls on the file between their entry and their handled exit
    std::deque<pid_t> queued;      // tasks stopped at the entry of a conflicting call, in arrival order
  };
  std::unordered_map<std::string, Turn> turns_;          // per inode with such a call in flight
  struct Parked {
    pid_t tid;
    int status;
    uint64_t ts;
  };
  std::deque<Parked> parked_;  // stops collected by freeze(), handled by the loop afterwards
  std::atomic<uint64_t> syncWanted_{0};
  uint64_t syncServed_ = 0;
  StopStats stats_;  // what the stops cost, reported with the outcome
};

uint64_t nowNs();
uint64_t monotonicNs();
/** execve or execveat (a decision's call name) */
bool isExecCall(const char* call);
/** Where a write through tracee tid's fd lands: at the end for an appending description (its flags
 *  now) or RWF_APPEND, else at `given` (a pwrite's offset) or the description's position. false
 *  when /proc cannot tell (files.cc). */
bool landsAt(pid_t tid, int fd, bool rwfAppend, std::optional<uint64_t> given, uint64_t& offset);
/** The interpreter an ELF program names (PT_INTERP, read as binfmt_elf reads it): "" for none (a
 *  static program, or not ELF at all), nullopt when the file cannot tell (unreadable, malformed). */
std::optional<std::string> elfInterpreter(const std::string& path);
std::string errnoName(int e);

}  // namespace eyrie
