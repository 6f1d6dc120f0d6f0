// What the stops of a trace cost (`record --stats`, `attach --stats`): like `strace -c`, but for
// the tracer itself. Per call, its entry and exit stops; per ptrace event, its stops; for each, the
// time the tracer spent handling them (resuming the task included, and a question's wait for
// JavaScript, which is also counted on its own). The kernel's part of a stop (stopping the task,
// waking the tracer, waking the task again) is not in it: it shows as the traced program's time.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace eyrie {

class StopStats {
 public:
  /** Times one stop; what the handlers say it was (entry, exit, event, signal) is where it counts. */
  void begin(uint64_t nowNs) {
    key_ = kOther;
    began_ = nowNs;
  }
  void done(uint64_t nowNs) {
    Row& r = rows_[key_];
    r.stops++;
    r.ns += nowNs - began_;
  }
  void entry(long nr) { key_ = static_cast<int>(nr); }
  void exit(long nr) { key_ = kExit + static_cast<int>(nr); }
  void event(int ptraceEvent) { key_ = kEvent + ptraceEvent; }
  void signal() { key_ = kSignal; }
  /** A question to JavaScript (a decision) and how long the tracee waited for its answer. */
  void question(uint64_t ns) {
    questions_++;
    questionNs_ += ns;
  }
  /** A verdict JavaScript lent answered a question without asking. */
  void loan() { loans_++; }

  /** {"calls":[{"nr","name","entries","exits","ns"}],"events":[{"name","stops","ns"}],
   *  "questions","questionNs","loans"}: calls by number, events by name. */
  std::string json() const;

 private:
  static constexpr int kExit = 1 << 12, kEvent = 2 << 12, kSignal = 3 << 12, kOther = 4 << 12;
  struct Row {
    uint64_t stops = 0;
    uint64_t ns = 0;
  };
  std::map<int, Row> rows_;
  int key_ = kOther;
  uint64_t began_ = 0;
  uint64_t questions_ = 0;
  uint64_t questionNs_ = 0;
  uint64_t loans_ = 0;
};

}  // namespace eyrie
