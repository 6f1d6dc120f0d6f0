// A parent that spends nearly all its time inside vfork(): each child sleeps 300 ms before it execs
// /bin/true. Attached at any moment, the parent cannot stop until its child execs or exits.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  for (;;) {
    pid_t p = vfork();
    if (p == 0) {
      struct timespec ts = {0, 300 * 1000 * 1000};
      nanosleep(&ts, 0);
      execl("/bin/true", "true", (char*)0);
      _exit(127);
    }
    if (p < 0) return 1;
    waitpid(p, 0, 0);
  }
}
