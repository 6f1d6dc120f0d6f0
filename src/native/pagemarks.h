// What eyrie remembers of a recorded file page, so that a reading sends only the pages that changed
// (views.cc, deferred.cc).
//
// A mark is a keyed universal hash: NH (the inner hash of UMAC) twice, with two keys drawn
// from getrandom() when the tracer starts. Two different pages of one length collide for at most a
// 2^-64 share of the keys, and a traced program never sees a mark, so it cannot make a changed page
// look unchanged. An unkeyed hash (std::hash, MurmurHash-like: seed-independent collisions are
// known) let a program write page A, have it recorded, then write a colliding B that the journal, and
// the scanner reading it, never saw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace eyrie {

struct PageMark {
  uint64_t a = 0, b = 0;
  uint32_t len = 0;  // bytes marked (at most a page); 0: nothing recorded
  bool operator==(const PageMark& o) const { return len == o.len && a == o.a && b == o.b; }
  bool operator!=(const PageMark& o) const { return !(*this == o); }
};

class PageHasher {
 public:
  static constexpr size_t kPageBytes = 4096;
  /** Draws the keys; false (errno set) when the kernel gave no random bytes. */
  bool seed();
  /** The mark of n <= kPageBytes bytes. */
  PageMark mark(const uint8_t* p, size_t n) const;

 private:
  alignas(64) uint32_t k1_[kPageBytes / 4] = {};
  alignas(64) uint32_t k2_[kPageBytes / 4] = {};
  bool avx2_ = false;
};

/** The marks of one file's pages: its first MiB in a vector that grows with the pages marked (most
 *  files written are small: a 6 KiB block each cost a tar extraction of 7,000 files 44 MiB, and
 *  the tracer a heap growth per file), the rest in blocks of 256 pages, one allocation per MiB. */
class PageMarks {
 public:
  /** The page's mark; len 0 when nothing was recorded there. The reference holds until the next at(). */
  PageMark& at(uint64_t page);
  /** No page in [first, last) has a mark. */
  bool none(uint64_t first, uint64_t last) const;
  /** Forgets pages [first, last). */
  void forget(uint64_t first, uint64_t last);

 private:
  static constexpr uint64_t kBlock = 256;
  std::vector<PageMark> head_;  // pages [0, head_.size()), head_.size() <= kBlock
  std::unordered_map<uint64_t, std::unique_ptr<std::array<PageMark, kBlock>>> blocks_;  // by page / kBlock, >= 1
};

}  // namespace eyrie
