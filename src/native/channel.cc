#include "channel.h"

#include <algorithm>

namespace eyrie {

Channel::Channel(Sink& sink, size_t capacity, std::chrono::milliseconds slice, std::shared_ptr<Pool> pool)
    : sink_(sink),
      capacity_(std::max<size_t>(capacity, 1)),
      slice_(slice),
      sealAt_(std::max<size_t>(std::min(capacity_ / 2, kBatchBytes), 1)),
      pool_(std::move(pool)) {
  fresh();
  flusher_ = std::thread([this] { flusher(); });
}

Channel::~Channel() {
  {
    std::lock_guard<std::mutex> g(mu_);
    closing_ = true;
  }
  tick_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  delete open_;
}

void Channel::fresh() { open_ = pool_->take(std::min<size_t>(sealAt_ + 4096, size_t(1) << 20)); }

Channel::Writer::Writer(Channel& c) : c_(c), lock_(c.mu_), opens_(c.open_->empty()) {
  if (opens_) c_.openedAt_ = std::chrono::steady_clock::now();
}

Channel::Writer::~Writer() {
  if (c_.open_->size() >= c_.sealAt_) c_.sealLocked(lock_, true);
  else if (opens_ && !c_.open_->empty()) c_.tick_.notify_one();  // the flusher times this batch
}

void Channel::sealLocked(std::unique_lock<std::mutex>& lock, bool wait) {
  if (open_->empty()) return;
  // One batch may exceed the capacity on its own (a large write): it goes when nothing else is out.
  auto fits = [this] { return outstanding_ == 0 || outstanding_ + open_->size() <= capacity_; };
  if (!fits()) {
    if (!wait) return;
    acked_.wait(lock, [&] { return fits(); });
  }
  auto* m = new Message(Message::Type::Batch);
  m->batch = open_;
  m->id = open_->size();
  outstanding_ += open_->size();
  fresh();
  sink_.deliver(m);
}

void Channel::flusher() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closing_) {
    if (open_->empty()) {
      tick_.wait(lock);  // nothing to time: sleep until a batch opens (a quiet tracee costs nothing)
      continue;
    }
    auto due = openedAt_ + slice_;
    if (std::chrono::steady_clock::now() < due) {
      tick_.wait_until(lock, due);
      continue;
    }
    sealLocked(lock, false);
    // still open: JavaScript holds the whole capacity; try again a slice later
    if (!open_->empty()) tick_.wait_for(lock, slice_);
  }
}

int64_t Channel::ask(Message* request, int64_t fallback, std::string* note) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cancelled_) {
    delete request;
    return fallback;
  }
  if (request->type == Message::Type::Decide && (!open_->empty() || outstanding_ > 0)) {
    // JavaScript handles the batches before the question (the question needs them in R(now)): told
    // of the question first, it may start what needs no batch (reading and scanning a host file)
    auto* f = new Message(Message::Type::Foresee);
    f->decide = request->decide;
    sink_.deliver(f);
  }
  sealLocked(lock, true);
  uint64_t id = request->id = nextId_++;
  sink_.deliver(request);
  acked_.wait(lock, [&] { return cancelled_ || answers_.count(id) > 0; });
  auto it = answers_.find(id);
  if (it == answers_.end()) return fallback;
  int64_t v = it->second.value;
  if (note != nullptr) *note = std::move(it->second.note);
  answers_.erase(it);
  return v;
}

void Channel::finish(const Outcome& o) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    sealLocked(lock, true);
    auto* m = new Message(Message::Type::Done);
    m->done = o;
    sink_.deliver(m);
    closing_ = true;
  }
  tick_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  sink_.close();
}

void Channel::ack(size_t bytes) {
  {
    std::lock_guard<std::mutex> g(mu_);
    outstanding_ -= std::min(bytes, outstanding_);
  }
  acked_.notify_all();
}

void Channel::answer(uint64_t id, int64_t value, std::string note) {
  {
    std::lock_guard<std::mutex> g(mu_);
    answers_[id] = Answer{value, std::move(note)};
  }
  acked_.notify_all();
}

void Channel::cancelAsks() {
  {
    std::lock_guard<std::mutex> g(mu_);
    cancelled_ = true;
  }
  acked_.notify_all();
}

}  // namespace eyrie
