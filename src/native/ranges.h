// Where an address space may hold a file view: a set of disjoint, page-aligned [start, end) ranges.
// It must contain every view the journal gave the address space (more only costs exit stops and
// records that change nothing): memory calls outside it change no view, so they need no exit stop
// and no record (a JIT's mprotects, a malloc's munmaps).
#pragma once

#include <cstdint>
#include <iterator>
#include <map>

namespace eyrie {

class AddressRanges {
 public:
  static constexpr uint64_t kPage = 4096;

  /** [addr, addr + len) rounded out to pages, as the kernel takes a memory call's range. */
  static uint64_t pageEnd(uint64_t addr, uint64_t len) {
    uint64_t end = addr + len;
    return end < addr ? ~uint64_t{0} : end + (kPage - 1) < end ? ~uint64_t{0} : (end + kPage - 1) & ~(kPage - 1);
  }

  void add(uint64_t lo, uint64_t hi) {
    lo &= ~(kPage - 1);
    if (lo >= hi) return;
    auto it = runs_.upper_bound(lo);
    if (it != runs_.begin() && std::prev(it)->second >= lo) {
      --it;
      lo = it->first;
    }
    while (it != runs_.end() && it->first <= hi) {
      if (it->second > hi) hi = it->second;
      it = runs_.erase(it);
    }
    runs_.emplace(lo, hi);
  }

  void remove(uint64_t lo, uint64_t hi) {
    lo &= ~(kPage - 1);
    if (lo >= hi) return;
    auto it = runs_.upper_bound(lo);
    if (it != runs_.begin() && std::prev(it)->second > lo) --it;
    while (it != runs_.end() && it->first < hi) {
      uint64_t s = it->first, e = it->second;
      it = runs_.erase(it);
      if (s < lo) runs_.emplace(s, lo);
      if (e > hi) it = runs_.emplace(hi, e).first;
    }
  }

  bool intersects(uint64_t lo, uint64_t hi) const {
    lo &= ~(kPage - 1);
    if (lo >= hi) return false;
    auto it = runs_.upper_bound(lo);
    if (it != runs_.begin() && std::prev(it)->second > lo) return true;
    return it != runs_.end() && it->first < hi;
  }

 private:
  std::map<uint64_t, uint64_t> runs_;  // start -> end
};

}  // namespace eyrie
