// The batch format that crosses into JavaScript: a sequence of records, each
//   u32 size (whole record) | u8 kind | u32 pid | u32 tid | u64 ts | fields in the kind's order
// with numbers as u64, signed numbers as i64, booleans as u8, nullable values as a u8 tag (0 null,
// 1 present) before the value, strings as u32 length + UTF-8 bytes, and the payload (file.write,
// file.observe, view.sync, file.sync) last as u32 length + bytes. src/native/decode.ts reads the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bytes.h"

namespace eyrie {

/** Kind codes: positions in KINDS of src/events/event.ts (append-only there). The addon exports
 *  kindNames so the TypeScript side checks both lists agree when it loads. */
enum class Kind : uint8_t {
  Snapshot,
  ProcSpawn,
  ProcExec,
  ProcExit,
  ProcChdir,
  FdOpen,
  FdDup,
  FdClose,
  FdCloseRange,
  FdCloexec,
  FdSeek,
  FdRead,
  FileWrite,
  FileTruncate,
  FileAllocate,
  FileRename,
  FileUnlink,
  FileLink,
  FileSymlink,
  FileMkdir,
  FileRmdir,
  FileFlush,
  FileObserve,
  FileQuarantine,
  ViewMap,
  ViewUnmap,
  ViewRemap,
  ViewProtect,
  ViewSync,
  ScanVerdict,
  AccessDenied,
  ProcIoUring,
  FileSync,
  ViewRemove,
  ProcReparent,
  FileClone,  // the strace importer's (the interceptor reads a clone's bytes back: FileWrite)
  FdSetfl,
  FileMknod,
  FileChmod,
  FileChown,
};

/** proc.ioUring's `via`, as a u8: positions in IO_URING_VIA of src/native/decode.ts. */
enum class UringVia : uint8_t { Setup, Enter, Register, Held };

inline const std::vector<const char*>& kindNames() {
  static const std::vector<const char*> names = {
      "snapshot",     "proc.spawn",    "proc.exec",   "proc.exit",      "proc.chdir",   "fd.open",
      "fd.dup",       "fd.close",      "fd.closeRange", "fd.cloexec",   "fd.seek",      "fd.read",
      "file.write",   "file.truncate", "file.allocate", "file.rename",  "file.unlink",  "file.link",
      "file.symlink", "file.mkdir",    "file.rmdir",  "file.flush",     "file.observe", "file.quarantine",
      "view.map",     "view.unmap",    "view.remap",  "view.protect",   "view.sync",    "scan.verdict",
      "access.denied", "proc.ioUring", "file.sync", "view.remove", "proc.reparent", "file.clone", "fd.setfl",
      "file.mknod", "file.chmod", "file.chown"};
  return names;
}

/** Who did it and when: the envelope every record starts with. */
struct Origin {
  uint32_t pid;  // thread group id
  uint32_t tid;
  uint64_t ts;   // CLOCK_REALTIME ns at the stop
};

/** Appends one record to a batch; the size is patched in by end(). */
class Record {
 public:
  Record(Bytes& out, Kind kind, const Origin& o) : out_(out), start_(out.size()) {
    put32(0);
    uint8_t k = static_cast<uint8_t>(kind);
    out_.append(&k, 1);
    put32(o.pid);
    put32(o.tid);
    put64(o.ts);
  }
  Record& num(uint64_t v) { return put64(v); }
  Record& sint(int64_t v) { return put64(static_cast<uint64_t>(v)); }
  Record& byte(uint8_t v) {
    out_.append(&v, 1);
    return *this;
  }
  Record& flag(bool v) {
    uint8_t b = v ? 1 : 0;
    out_.append(&b, 1);
    return *this;
  }
  Record& str(const std::string& s) {
    put32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
    return *this;
  }
  Record& nullableNum(bool present, uint64_t v) {
    flag(present);
    return present ? num(v) : *this;
  }
  Record& nullableStr(const std::string& s) {
    flag(!s.empty());
    return s.empty() ? *this : str(s);
  }
  /** Room for a payload of up to n bytes (not initialised); fill it, then call payloadDone(actual). */
  uint8_t* payload(size_t n) {
    lenAt_ = out_.size();
    put32(0);
    return out_.grow(n);
  }
  void payloadDone(size_t actual) {
    out_.truncate(lenAt_ + 4 + actual);
    patch32(lenAt_, static_cast<uint32_t>(actual));
  }
  void end() { patch32(start_, static_cast<uint32_t>(out_.size() - start_)); }
  /** Where the next field goes: a num() written there can be corrected with renum(). */
  size_t here() const { return out_.size(); }
  void renum(size_t at, uint64_t v) { std::memcpy(out_.data() + at, &v, 8); }

 private:
  Record& put32(uint32_t v) {
    out_.append(&v, 4);  // x86_64 is little-endian, as the format
    return *this;
  }
  Record& put64(uint64_t v) {
    out_.append(&v, 8);
    return *this;
  }
  void patch32(size_t at, uint32_t v) { std::memcpy(out_.data() + at, &v, 4); }

  Bytes& out_;
  size_t start_;
  size_t lenAt_ = 0;
};

}  // namespace eyrie
