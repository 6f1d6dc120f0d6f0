#include "pagemarks.h"

#include <immintrin.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace eyrie {

bool PageHasher::seed() {
  __builtin_cpu_init();
  avx2_ = __builtin_cpu_supports("avx2");
  for (uint32_t* k : {k1_, k2_}) {
    auto* p = reinterpret_cast<uint8_t*>(k);
    size_t got = 0, want = sizeof k1_;
    while (got < want) {
      ssize_t n = getrandom(p + got, want - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
  }
  return true;
}

namespace {

// NH over n bytes (a multiple of 32) as the UMAC paper defines it: the 32-bit words paired in order,
// (m0 + k0)(m1 + k1) + (m2 + k2)(m3 + k3) + ..., sums of words mod 2^32, products and total mod 2^64.
// Universal for equal lengths: two different messages collide for at most 2^-32 of the keys.
uint64_t nhPortable(const uint32_t* key, const uint8_t* p, size_t n) {
  uint64_t y = 0;
  for (size_t w = 0; w < n / 4; w += 2) {
    uint32_t m[2];
    std::memcpy(m, p + w * 4, sizeof m);
    y += uint64_t(uint32_t(m[0] + key[w])) * uint64_t(uint32_t(m[1] + key[w + 1]));
  }
  return y;
}

// The same, 32 bytes per step: one add, one shift, one 32x32->64 multiply per four pairs.
__attribute__((target("avx2"))) uint64_t nhAvx2(const uint32_t* key, const uint8_t* p, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  for (size_t at = 0; at < n; at += 32) {
    __m256i s = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at)),
                                 _mm256_load_si256(reinterpret_cast<const __m256i*>(key + at / 4)));
    acc = _mm256_add_epi64(acc, _mm256_mul_epu32(s, _mm256_srli_epi64(s, 32)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}


}  // namespace

PageMark PageHasher::mark(const uint8_t* p, size_t n) const {
  n = std::min(n, kPageBytes);
  size_t whole = n / 32 * 32;
  PageMark m;
  m.len = static_cast<uint32_t>(n);
  auto nh = avx2_ ? nhAvx2 : nhPortable;
  m.a = nh(k1_, p, whole);
  m.b = nh(k2_, p, whole);
  if (whole < n) {
    // the tail, zero-padded to a block (the length tells a padded page from a longer one), hashed
    // with the key words of its place
    alignas(32) uint8_t tail[32] = {};
    std::memcpy(tail, p + whole, n - whole);
    m.a += nh(k1_ + whole / 4, tail, 32);
    m.b += nh(k2_ + whole / 4, tail, 32);
  }
  return m;
}

PageMark& PageMarks::at(uint64_t page) {
  if (page < kBlock) {
    // grown by doubling: a file marked page by page costs a few moves, not one per page
    if (page >= head_.size()) head_.resize(std::min<uint64_t>(kBlock, std::max<uint64_t>({page + 1, head_.size() * 2, 4})));
    return head_[page];
  }
  auto& block = blocks_[page / kBlock];
  if (!block) block = std::make_unique<std::array<PageMark, kBlock>>();
  return (*block)[page % kBlock];
}

bool PageMarks::none(uint64_t first, uint64_t last) const {
  for (uint64_t p = first; p < std::min<uint64_t>(last, head_.size()); p++)
    if (head_[p].len != 0) return false;
  for (uint64_t b = std::max<uint64_t>(first / kBlock, 1); b * kBlock < last; b++) {
    auto it = blocks_.find(b);
    if (it == blocks_.end()) continue;
    for (uint64_t p = std::max(first, b * kBlock); p < std::min(last, (b + 1) * kBlock); p++)
      if ((*it->second)[p - b * kBlock].len != 0) return false;
  }
  return true;
}

void PageMarks::forget(uint64_t first, uint64_t last) {
  if (first >= last) return;
  if (first == 0 && last >= head_.size()) std::vector<PageMark>().swap(head_);  // its memory goes too
  else
    for (uint64_t p = first; p < std::min<uint64_t>(last, head_.size()); p++) head_[p] = PageMark{};
  for (auto b = blocks_.begin(); b != blocks_.end();) {
    uint64_t lo = b->first * kBlock, hi = lo + kBlock;
    if (hi <= first || lo >= last) {
      ++b;
      continue;
    }
    if (first <= lo && hi <= last) {
      b = blocks_.erase(b);
      continue;
    }
    for (uint64_t p = std::max(lo, first); p < std::min(hi, last); p++) (*b->second)[p - lo] = PageMark{};
    ++b;
  }
}

}  // namespace eyrie
