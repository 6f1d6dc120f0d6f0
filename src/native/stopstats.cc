#include "stopstats.h"

#include <sys/ptrace.h>

#include "filter.h"

namespace eyrie {

namespace {

std::string callName(int nr) {
  for (const auto& c : tracedCalls())
    if (c.nr == nr) return c.name;
  return "syscall " + std::to_string(nr);  // attach stops at every call, wanted or not
}

std::string eventName(int ev) {
  switch (ev) {
    case PTRACE_EVENT_FORK: return "fork";
    case PTRACE_EVENT_VFORK: return "vfork";
    case PTRACE_EVENT_CLONE: return "clone";
    case PTRACE_EVENT_EXEC: return "exec";
    case PTRACE_EVENT_EXIT: return "exit";
    case PTRACE_EVENT_STOP: return "stop";  // seized, interrupted, group-stop
    default: return "event " + std::to_string(ev);
  }
}

}  // namespace

std::string StopStats::json() const {
  std::map<int, std::pair<Row, Row>> calls;  // nr -> entries, exits
  std::string events;
  auto add = [&](const std::string& name, const Row& r) {
    if (!events.empty()) events += ',';
    events += "{\"name\":\"" + name + "\",\"stops\":" + std::to_string(r.stops) + ",\"ns\":" + std::to_string(r.ns) + "}";
  };
  for (const auto& [key, r] : rows_) {
    if (key < kExit) calls[key].first = r;
    else if (key < kEvent) calls[key - kExit].second = r;
    else if (key < kSignal) add(eventName(key - kEvent), r);
    else add(key == kSignal ? "signal" : "other", r);
  }
  std::string out = "{\"calls\":[";
  bool first = true;
  for (const auto& [nr, sides] : calls) {
    if (!first) out += ',';
    first = false;
    out += "{\"nr\":" + std::to_string(nr) + ",\"name\":\"" + callName(nr) + "\",\"entries\":" + std::to_string(sides.first.stops) +
           ",\"exits\":" + std::to_string(sides.second.stops) + ",\"ns\":" + std::to_string(sides.first.ns + sides.second.ns) + "}";
  }
  out += "],\"events\":[" + events + "],\"questions\":" + std::to_string(questions_) + ",\"questionNs\":" + std::to_string(questionNs_) +
         ",\"loans\":" + std::to_string(loans_) + "}";
  return out;
}

}  // namespace eyrie
