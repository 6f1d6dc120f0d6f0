// spawnDaemon for JavaScript: a helper process (the private clamd) that libuv never sees (daemon.cc).
#pragma once
#include <napi.h>

namespace eyrie {
Napi::Value SpawnDaemon(const Napi::CallbackInfo& info);
}
