// Reading a stopped tracee's memory: process_vm_readv, page by page where a range crosses into
// memory it cannot read, falling back to /proc/TID/mem (which also reads pages without PROT_READ).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace eyrie {

/** Copies up to len bytes at addr into out; returns how many were readable from the start. */
size_t readMemory(pid_t tid, uint64_t addr, size_t len, uint8_t* out);

/** A NUL-terminated string of at most max bytes; false when unreadable or unterminated. */
bool readString(pid_t tid, uint64_t addr, std::string& out, size_t max);

bool readU64(pid_t tid, uint64_t addr, uint64_t& out);

/** Total length of an iovec array in the tracee (0 when it cannot be read). */
uint64_t iovLength(pid_t tid, uint64_t iov, uint64_t count);

/** The first len bytes of the buffers described by an iovec array; returns how many were read. */
size_t readIovecs(pid_t tid, uint64_t iov, uint64_t count, size_t len, uint8_t* out);

/** A NULL-terminated array of string pointers (argv). */
bool readStringArray(pid_t tid, uint64_t addr, std::vector<std::string>& out);

}  // namespace eyrie
