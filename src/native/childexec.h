// What a child forked by the addon does before execve, in async-signal-safe calls only (after a fork
// in a multithreaded process nothing else is safe).
#pragma once
#include <signal.h>
#include <string.h>

namespace eyrie {

/** Every signal at its default and none blocked: what node set up (ignored SIGPIPE, blocked signals,
 *  its handlers) is not the new program's business. */
inline void defaultSignals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace eyrie
