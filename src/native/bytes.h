// Batch memory: a growable buffer that does not zero what it adds (payloads are overwritten at once),
// and a pool that takes buffers back once their bytes were copied into JavaScript, so the tracer
// writes into pages that are already mapped instead of faulting fresh ones in for every batch (page
// faults are costly in virtual machines, and they would sit on the tracees' critical path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace eyrie {

class Bytes {
 public:
  Bytes() = default;
  Bytes(uint8_t* data, size_t cap) : data_(data), cap_(cap) {}
  ~Bytes() { std::free(data_); }
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;

  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }

  void reserve(size_t n) {
    if (n <= cap_) return;
    size_t cap = std::max(n, cap_ * 2);
    auto* p = static_cast<uint8_t*>(std::realloc(data_, cap));
    if (p == nullptr) std::abort();  // out of memory: like operator new without exceptions
    data_ = p;
    cap_ = cap;
  }
  /** n more bytes at the end, not initialised. */
  uint8_t* grow(size_t n) {
    reserve(size_ + n);
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }
  void append(const void* p, size_t n) { std::memcpy(grow(n), p, n); }
  void truncate(size_t n) { size_ = n; }
 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

class Pool {
 public:
  explicit Pool(size_t keepBytes) : keepBytes_(keepBytes) {}
  ~Pool() {
    for (Bytes* b : free_) delete b;
  }
  /** A recycled buffer (empty) when one is free, else a new one of capacity `want`. */
  Bytes* take(size_t want) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!free_.empty()) {
        Bytes* b = free_.back();
        free_.pop_back();
        kept_ -= b->capacity();
        b->truncate(0);
        return b;
      }
    }
    auto* b = new Bytes();
    b->reserve(want);
    return b;
  }
  /** A buffer whose content was consumed (any thread). */
  void give(Bytes* b) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (kept_ + b->capacity() <= keepBytes_) {
        free_.push_back(b);
        kept_ += b->capacity();
        return;
      }
    }
    delete b;
  }

 private:
  const size_t keepBytes_;
  std::mutex mu_;
  std::vector<Bytes*> free_;
  size_t kept_ = 0;
};

}  // namespace eyrie
