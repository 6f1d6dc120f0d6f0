// The tracer's only way to JavaScript: encoded events gathered into batches, requests that need an
// answer (a decision, a snapshot), and the final outcome. Nothing is dropped: when the batches in
// flight reach the capacity, the tracer waits (and so do the tracees it holds) until JavaScript
// acknowledges one, which it does after its onBatch promise settled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bytes.h"

namespace eyrie {

struct DecideRequest {
  uint32_t pid = 0;
  uint32_t tid = 0;
  std::string call;
  std::string path;
  uint64_t flags = 0;
};

struct SnapshotRequest {
  std::vector<pid_t> pids;
  bool record = false;  // the starting process of a recorded command: fds 0-2 only, no maps
};

/** How the run ended. status < 0 means none (killed by a signal, or an error before the start). */
struct Outcome {
  int status = -1;
  int signal = 0;
  std::string errorCode;  // errno name when the run failed as a whole
  std::string message;    // a readable line for errors, or for a command that could not start
  std::string stats;      // what the stops cost (StopStats::json)
};

struct Message {
  enum class Type { Batch, Decide, Foresee, Snapshot, Synced, Done };
  explicit Message(Type t) : type(t) {}
  Type type;
  uint64_t id = 0;
  Bytes* batch = nullptr;  // owned by the message until JavaScript takes it
  DecideRequest decide;
  SnapshotRequest snapshot;
  Outcome done;
  uint64_t generation = 0;  // Synced: the requestSync it answers
};

/** Where messages go (a ThreadSafeFunction in the addon). deliver() must not block. */
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void deliver(Message* m) = 0;
  virtual void close() = 0;
};

/** The most a batch gathers before it goes (bar its last record). A file read back whole at its close
 *  comes as one burst of its size: in one batch, the pool's buffers grew to the burst (two fresh
 *  64 MiB buffers, their pages faulted in by the tracer's reads while the tracee waited) and
 *  JavaScript got nothing until the burst was whole; in batches of this size the buffers stay small
 *  and warm, and the journal writes the first ones while the tracer reads the rest. */
constexpr size_t kBatchBytes = size_t(4) << 20;

class Channel {
 public:
  /** `slice`: the longest a record waits in the open batch (a quiet tracee must not hold back the
   *  last ones). Each batch costs JavaScript ~1 ms of CPU (decode, fold, LMDB commit and sync) on the
   *  cores the workload runs on: x264 made 258 batches with 5 ms and 111 with 50 ms (the
   *  default, TraceOptions.batchMs), and the recorder's CPU fell from ~440 to ~290 ms. A question
   *  (ask), the end and kBatchBytes (or half the capacity, if less) seal the batch at once. */
  Channel(Sink& sink, size_t capacity, std::chrono::milliseconds slice, std::shared_ptr<Pool> pool);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  /** Exclusive access to the open batch while one record is written. */
  class Writer {
   public:
    explicit Writer(Channel& c);
    ~Writer();
    Bytes& out() { return *c_.open_; }

   private:
    Channel& c_;
    std::unique_lock<std::mutex> lock_;
    bool opens_;  // this record is the open batch's first
  };

  /** Sends what is buffered, then the request, and waits for JavaScript's answer; `fallback` when
   *  the channel was cancelled first. `note`, when given, receives the answer's note ("" if none). */
  int64_t ask(Message* request, int64_t fallback, std::string* note = nullptr);
  /** Sends what is buffered and the outcome, then closes the sink. */
  void finish(const Outcome& o);

  // JavaScript's side.
  void ack(size_t bytes);
  void answer(uint64_t id, int64_t value, std::string note = "");
  /** Releases a tracer waiting for an answer (stop requested); later asks get their fallback. */
  void cancelAsks();

 private:
  friend class Writer;
  void sealLocked(std::unique_lock<std::mutex>& lock, bool wait);
  void flusher();
  void fresh();

  Sink& sink_;
  const size_t capacity_;
  const std::chrono::milliseconds slice_;
  const size_t sealAt_;
  std::mutex mu_;
  std::condition_variable acked_;
  std::condition_variable tick_;
  std::shared_ptr<Pool> pool_;
  Bytes* open_ = nullptr;
  std::chrono::steady_clock::time_point openedAt_;
  size_t outstanding_ = 0;
  uint64_t nextId_ = 1;
  struct Answer {
    int64_t value;
    std::string note;
  };
  std::map<uint64_t, Answer> answers_;
  bool cancelled_ = false;
  bool closing_ = false;
  std::thread flusher_;
};

}  // namespace eyrie
