// A parent that spends nearly all its time inside vfork(): each child sleeps 300 ms (or argv[1] ms)
// before it execs /bin/true. Attached at any moment, the parent cannot stop until its child execs or
// exits.
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long ms = argc > 1 ? atol(argv[1]) : 300;
  for (;;) {
    pid_t p = vfork();
    if (p == 0) {
      struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
      nanosleep(&ts, 0);
      execl("/bin/true", "true", (char*)0);
      _exit(127);
    }
    if (p < 0) return 1;
    waitpid(p, 0, 0);
  }
}
