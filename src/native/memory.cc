#include "memory.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace eyrie {

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kMaxArgs = 1 << 17;
constexpr size_t kMaxArgLen = 128 * 1024;  // MAX_ARG_STRLEN

size_t readMemFile(pid_t tid, uint64_t addr, size_t len, uint8_t* out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, out + done, len - done, static_cast<off_t>(addr + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  return done;
}

}  // namespace

size_t readMemory(pid_t tid, uint64_t addr, size_t len, uint8_t* out) {
  size_t done = 0;
  while (done < len) {
    // process_vm_readv stops at the first unreadable page and reports a partial count
    size_t chunk = std::min<size_t>(len - done, size_t(1) << 30);
    iovec local{out + done, chunk};
    iovec remote{reinterpret_cast<void*>(addr + done), chunk};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    // a page process_vm_readv refuses: try /proc/TID/mem for the rest of that page, then go on
    size_t pageLeft = kPage - ((addr + done) % kPage);
    size_t want = std::min(pageLeft, len - done);
    size_t got = readMemFile(tid, addr + done, want, out + done);
    done += got;
    if (got < want) break;
  }
  return done;
}

bool readString(pid_t tid, uint64_t addr, std::string& out, size_t max) {
  out.clear();
  if (addr == 0) return false;
  char buf[kPage];
  while (out.size() < max) {
    size_t want = kPage - (addr % kPage);
    size_t got = readMemory(tid, addr, want, reinterpret_cast<uint8_t*>(buf));
    if (got == 0) return false;
    const void* nul = memchr(buf, 0, got);
    if (nul != nullptr) {
      out.append(buf, static_cast<const char*>(nul) - buf);
      return out.size() <= max;
    }
    out.append(buf, got);
    if (got < want) return false;
    addr += got;
  }
  return false;
}

bool readU64(pid_t tid, uint64_t addr, uint64_t& out) {
  return addr != 0 && readMemory(tid, addr, sizeof out, reinterpret_cast<uint8_t*>(&out)) == sizeof out;
}

namespace {

/** The tracee's iovec array (at most IOV_MAX entries, as the kernel takes); empty when unreadable. */
std::vector<iovec> iovecsOf(pid_t tid, uint64_t iov, uint64_t count) {
  std::vector<iovec> v(std::min<uint64_t>(count, IOV_MAX));
  size_t bytes = v.size() * sizeof(iovec);
  if (readMemory(tid, iov, bytes, reinterpret_cast<uint8_t*>(v.data())) != bytes) v.clear();
  return v;
}

}  // namespace

uint64_t iovLength(pid_t tid, uint64_t iov, uint64_t count) {
  uint64_t total = 0;
  for (const auto& x : iovecsOf(tid, iov, count)) total += x.iov_len;
  return total;
}

size_t readIovecs(pid_t tid, uint64_t iov, uint64_t count, size_t len, uint8_t* out) {
  size_t done = 0;
  for (const iovec& v : iovecsOf(tid, iov, count)) {
    if (done >= len) break;
    size_t want = std::min(v.iov_len, len - done);
    size_t got = readMemory(tid, reinterpret_cast<uint64_t>(v.iov_base), want, out + done);
    done += got;
    if (got < want) break;  // known bytes are a prefix: stop at the first gap
  }
  return done;
}

bool readStringArray(pid_t tid, uint64_t addr, std::vector<std::string>& out) {
  out.clear();
  if (addr == 0) return true;  // execve(path, NULL, ...) is an empty argv on Linux
  for (size_t i = 0; i < kMaxArgs; i++) {
    uint64_t p;
    if (!readU64(tid, addr + 8 * i, p)) return false;
    if (p == 0) return true;
    std::string s;
    if (!readString(tid, p, s, kMaxArgLen)) return false;
    out.push_back(std::move(s));
  }
  return false;
}

}  // namespace eyrie
