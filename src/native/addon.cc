// The JavaScript face of the tracer: `new Session(config, onMessage)` starts a tracer thread; the
// thread's messages (batches, questions, the outcome) arrive through a ThreadSafeFunction, and
// JavaScript answers with ack(bytes), answer(id, value) and stop(mode). Arguments are checked here.
#include <napi.h>
#include <signal.h>

#include <memory>
#include <thread>

#include "daemon.h"
#include "filter.h"
#include "tracer.h"

namespace {

using eyrie::Message;

void deliverToJs(Napi::Env env, Napi::Function onMessage, Message* m, const std::shared_ptr<eyrie::Pool>& pool) {
  std::unique_ptr<Message> own(m);
  if (env == nullptr) {
    delete m->batch;  // the environment is going away: nobody will read it
    return;
  }
  Napi::HandleScope scope(env);
  switch (m->type) {
    case Message::Type::Batch: {
      // One copy into memory JavaScript owns, made here on the JavaScript thread: the native buffer
      // goes straight back to the pool, warm, whatever JavaScript keeps and however late the GC runs.
      auto buf = Napi::Buffer<uint8_t>::Copy(env, m->batch->data(), m->batch->size());
      pool->give(m->batch);
      m->batch = nullptr;
      onMessage.Call({Napi::String::New(env, "batch"), buf});
      return;
    }
    case Message::Type::Foresee:  // a Decide on its way, ahead of the batch before it (no id: no answer)
    case Message::Type::Decide: {
      auto o = Napi::Object::New(env);
      o.Set("id", Napi::Number::New(env, static_cast<double>(m->id)));
      o.Set("pid", Napi::Number::New(env, m->decide.pid));
      o.Set("tid", Napi::Number::New(env, m->decide.tid));
      o.Set("call", Napi::String::New(env, m->decide.call));
      // the name's bytes as they are: JavaScript makes it a string by the one rule (src/events/names.ts)
      o.Set("path", Napi::Buffer<char>::Copy(env, m->decide.path.data(), m->decide.path.size()));
      o.Set("flags", Napi::Number::New(env, static_cast<double>(m->decide.flags)));
      onMessage.Call({Napi::String::New(env, m->type == Message::Type::Decide ? "decide" : "foresee"), o});
      return;
    }
    case Message::Type::Snapshot: {
      auto o = Napi::Object::New(env);
      o.Set("id", Napi::Number::New(env, static_cast<double>(m->id)));
      auto pids = Napi::Array::New(env, m->snapshot.pids.size());
      for (uint32_t i = 0; i < m->snapshot.pids.size(); i++) pids.Set(i, Napi::Number::New(env, m->snapshot.pids[i]));
      o.Set("pids", pids);
      o.Set("record", Napi::Boolean::New(env, m->snapshot.record));
      onMessage.Call({Napi::String::New(env, "snapshot"), o});
      return;
    }
    case Message::Type::Synced: {
      auto o = Napi::Object::New(env);
      o.Set("id", Napi::Number::New(env, static_cast<double>(m->id)));
      o.Set("generation", Napi::Number::New(env, static_cast<double>(m->generation)));
      onMessage.Call({Napi::String::New(env, "synced"), o});
      return;
    }
    case Message::Type::Done: {
      auto o = Napi::Object::New(env);
      const eyrie::Outcome& d = m->done;
      o.Set("status", d.status >= 0 ? Napi::Number::New(env, d.status) : env.Null());
      o.Set("signal", Napi::Number::New(env, d.signal));
      o.Set("errorCode", d.errorCode.empty() ? env.Null() : Napi::String::New(env, d.errorCode));
      o.Set("message", d.message.empty() ? env.Null() : Napi::String::New(env, d.message));
      o.Set("stats", Napi::String::New(env, d.stats));
      onMessage.Call({Napi::String::New(env, "done"), o});
      return;
    }
  }
}

class JsSink : public eyrie::Sink {
 public:
  Napi::ThreadSafeFunction tsfn;
  std::shared_ptr<eyrie::Pool> pool;
  void deliver(Message* m) override {
    auto call = [p = pool](Napi::Env env, Napi::Function fn, Message* msg) { deliverToJs(env, fn, msg, p); };
    if (tsfn.NonBlockingCall(m, call) != napi_ok) {
      delete m->batch;
      delete m;
    }
  }
  void close() override { tsfn.Release(); }
};

struct Core {
  JsSink sink;
  std::unique_ptr<eyrie::Channel> channel;
  std::unique_ptr<eyrie::Tracer> tracer;
  std::thread thread;
};

bool stringArray(const Napi::Value& v, std::vector<std::string>& out) {
  if (!v.IsArray()) return false;
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) return false;
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return true;
}

// Every ptrace stop of a tracee sends SIGCHLD to this process. Once Node has a child of its own (a
// private clamd), libuv handles SIGCHLD: each stop then wakes the JavaScript thread to waitpid() its
// children, thousands of times a second, and the tracees wait for the CPU that takes (an exec cost
// 1.5 ms more under --scan than without). libuv cares about exits only, so its handler gets
// SA_NOCLDSTOP: stops still wake the tracer's wait4, exits still raise SIGCHLD.
void quietStops() {
  struct sigaction sa;
  if (sigaction(SIGCHLD, nullptr, &sa) != 0 || (sa.sa_flags & SA_NOCLDSTOP) != 0) return;
  if ((sa.sa_flags & SA_SIGINFO) == 0 && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)) return;
  sa.sa_flags |= SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);
}

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod("ack", &Session::Ack), InstanceMethod("answer", &Session::Answer),
                        InstanceMethod("stop", &Session::Stop), InstanceMethod("sync", &Session::Sync)});
  }

  explicit Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Session(config, onMessage): expected an object and a function").ThrowAsJavaScriptException();
      return;
    }
    eyrie::Config cfg;
    size_t capacity = 0;
    int64_t batchMs = 0;
    if (!parse(env, info[0].As<Napi::Object>(), cfg, capacity, batchMs)) return;
    core_ = std::make_shared<Core>();
    // keep up to twice the capacity in recycled batches: what is in flight plus what is being filled
    core_->sink.pool = std::make_shared<eyrie::Pool>(2 * capacity + (size_t(2) << 20));
    core_->channel = std::make_unique<eyrie::Channel>(core_->sink, capacity, std::chrono::milliseconds(batchMs), core_->sink.pool);
    core_->tracer = std::make_unique<eyrie::Tracer>(std::move(cfg), *core_->channel);
    // the finalizer (on this thread, once the tracer released the function) joins the thread
    auto* keep = new std::shared_ptr<Core>(core_);
    core_->sink.tsfn = Napi::ThreadSafeFunction::New(
        env, info[1].As<Napi::Function>(), "eyrie-tracer", 0, 1,
        [](Napi::Env, std::shared_ptr<Core>* k) {
          if ((*k)->thread.joinable()) (*k)->thread.join();
          delete k;
        },
        keep);
    quietStops();
    Core* c = core_.get();
    core_->thread = std::thread([c] { c->tracer->run(); });
  }

 private:
  static bool parse(Napi::Env env, Napi::Object o, eyrie::Config& cfg, size_t& capacity, int64_t& batchMs) {
    auto fail = [&](const char* what) {
      Napi::TypeError::New(env, std::string("Session config: ") + what).ThrowAsJavaScriptException();
      return false;
    };
    std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "";
    if (mode != "record" && mode != "attach") return fail("mode must be 'record' or 'attach'");
    cfg.mode = mode == "record" ? eyrie::Config::Mode::Record : eyrie::Config::Mode::Attach;
    if (cfg.mode == eyrie::Config::Mode::Record) {
      if (!stringArray(o.Get("argv"), cfg.argv) || cfg.argv.empty()) return fail("argv must be a non-empty string array");
      if (!stringArray(o.Get("env"), cfg.env)) return fail("env must be an array of NAME=value strings");
      if (!o.Get("cwd").IsString()) return fail("cwd must be a string");
      cfg.cwd = o.Get("cwd").As<Napi::String>().Utf8Value();
      Napi::Value stdio = o.Get("stdio");
      if (!stdio.IsArray() || stdio.As<Napi::Array>().Length() != 3) return fail("stdio must be three fds (-1 inherits)");
      for (uint32_t i = 0; i < 3; i++) {
        Napi::Value v = stdio.As<Napi::Array>().Get(i);
        if (!v.IsNumber()) return fail("stdio must be three fds (-1 inherits)");
        cfg.stdio[i] = v.As<Napi::Number>().Int32Value();
      }
    } else {
      if (!o.Get("pid").IsNumber() || o.Get("pid").As<Napi::Number>().Int32Value() <= 0) return fail("pid must be a positive number");
      cfg.pid = o.Get("pid").As<Napi::Number>().Int32Value();
    }
    if (!o.Get("bufferBytes").IsNumber() || o.Get("bufferBytes").As<Napi::Number>().Int64Value() <= 0)
      return fail("bufferBytes must be a positive number");
    capacity = static_cast<size_t>(o.Get("bufferBytes").As<Napi::Number>().Int64Value());
    if (!o.Get("batchMs").IsNumber() || o.Get("batchMs").As<Napi::Number>().Int64Value() <= 0)
      return fail("batchMs must be a positive number");
    batchMs = o.Get("batchMs").As<Napi::Number>().Int64Value();
    cfg.decideExec = o.Get("decideExec").ToBoolean();
    cfg.decideOpens = o.Get("decideOpens").ToBoolean();
    Napi::Value am = o.Get("admitMs");
    if (!am.IsUndefined() && (!am.IsNumber() || am.As<Napi::Number>().Int64Value() < 0)) return fail("admitMs must be a non-negative number");
    cfg.admitNs = am.IsUndefined() ? 0 : static_cast<uint64_t>(am.As<Napi::Number>().Int64Value()) * 1000000;
    Napi::Value lent = o.Get("lent");
    if (!lent.IsUndefined()) {
      // [stamp, note, stamp, note, ...]: clean verdicts lent before the run (admissions.cc)
      std::vector<std::string> pairs;
      if (!stringArray(lent, pairs) || pairs.size() % 2 != 0) return fail("lent must be an array of [stamp, \"<sha256> exec|open\"] pairs, flattened");
      for (size_t i = 0; i < pairs.size(); i += 2) cfg.lentByStamp[pairs[i]] = pairs[i + 1];
    }
    Napi::Value of = o.Get("openFilter");
    if (!of.IsUndefined() && !of.IsNull()) {
      if (!of.IsObject()) return fail("openFilter must be {extensions, magic} or absent");
      std::vector<std::string> extensions, magic;
      if (!stringArray(of.As<Napi::Object>().Get("extensions"), extensions)) return fail("openFilter.extensions must be a string array");
      if (!stringArray(of.As<Napi::Object>().Get("magic"), magic)) return fail("openFilter.magic must be an array of hex strings");
      cfg.openFilter.all = false;
      cfg.openFilter.extensions.insert(extensions.begin(), extensions.end());
      for (const auto& hex : magic) {
        std::string bytes;
        if (hex.empty() || hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
          return fail("openFilter.magic must be an array of hex strings");
        for (size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        cfg.openFilter.magic.push_back(bytes);
      }
    }
    Napi::Value rp = o.Get("readPositions");
    std::string positions = rp.IsString() ? rp.As<Napi::String>().Utf8Value() : "";
    if (positions != "all" && positions != "writable") return fail("readPositions must be 'all' or 'writable'");
    cfg.readPositionsOfReadOnly = positions == "all";
    Napi::Value wr = o.Get("writes");
    std::string writes = wr.IsString() ? wr.As<Napi::String>().Utf8Value() : "";
    if (writes != "read-back" && writes != "stop") return fail("writes must be 'read-back' or 'stop'");
    cfg.writeStops = writes == "stop";
    Napi::Value po = o.Get("programOrderBytes");
    if (!po.IsUndefined() && (!po.IsNumber() || po.As<Napi::Number>().Int64Value() < 0)) return fail("programOrderBytes must be a non-negative number");
    if (!po.IsUndefined()) cfg.programOrderMax = static_cast<uint64_t>(po.As<Napi::Number>().Int64Value());
    return true;
  }

  Napi::Value Ack(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(info.Env(), "ack(bytes): expected a number").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (core_) core_->channel->ack(static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  }

  Napi::Value Answer(const Napi::CallbackInfo& info) {
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber() || (info.Length() > 2 && !info[2].IsString())) {
      Napi::TypeError::New(info.Env(), "answer(id, value, note?): expected two numbers and a string").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (core_)
      core_->channel->answer(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()),
                             info[1].As<Napi::Number>().Int64Value(),
                             info.Length() > 2 ? info[2].As<Napi::String>().Utf8Value() : std::string());
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    std::string mode = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (mode != "detach" && mode != "kill") {
      Napi::TypeError::New(info.Env(), "stop(mode): expected 'detach' or 'kill'").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (core_) core_->tracer->requestStop(mode == "kill" ? eyrie::StopMode::Kill : eyrie::StopMode::Detach);
    return info.Env().Undefined();
  }

  Napi::Value Sync(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int64Value() <= 0) {
      Napi::TypeError::New(info.Env(), "sync(generation): expected a positive number").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (core_) core_->tracer->requestSync(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  }

  std::shared_ptr<Core> core_;
};

// nameForTask(tid, name: Buffer) -> Buffer: procfs.h's, for the scanner's interpreters
Napi::Value NameForTask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() <= 0 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "nameForTask(tid, name): expected a positive number and a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto b = info[1].As<Napi::Buffer<char>>();
  std::string name = eyrie::nameForTask(info[0].As<Napi::Number>().Int32Value(), std::string(b.Data(), b.Length()));
  return Napi::Buffer<char>::Copy(env, name.data(), name.size());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Session", Session::Define(env));
  auto kinds = Napi::Array::New(env);
  for (const char* k : eyrie::kindNames()) kinds.Set(kinds.Length(), Napi::String::New(env, k));
  exports.Set("kindNames", kinds);
  auto calls = Napi::Array::New(env);
  for (const auto& c : eyrie::tracedCalls()) calls.Set(calls.Length(), Napi::String::New(env, c.name));
  exports.Set("tracedCalls", calls);
  exports.Set("spawnDaemon", Napi::Function::New(env, eyrie::SpawnDaemon, "spawnDaemon"));
  exports.Set("nameForTask", Napi::Function::New(env, NameForTask, "nameForTask"));
  return exports;
}

}  // namespace

NODE_API_MODULE(eyrie_native, Init)
