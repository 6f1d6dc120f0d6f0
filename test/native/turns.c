// Calls that take turns on one file (src/native/order.cc), held for as long as the test wants.
//   turns MODE FILE DIR
// Once DIR/a-go exists, thread A writes a page to FILE from memory that is not there yet
// (userfaultfd, missing mode): the kernel holds FILE's inode lock and waits inside write(2) until the
// page is filled (no signal ends that wait, only death). Once DIR/b-go exists, thread B creates
// DIR/b-ready and writes a record to FILE through the same description, so it must wait for A (under
// eyrie: stopped at its entry). Once DIR/go exists:
//   release  the page is filled: A's write completes, then B's; exit 0
//   exit     a third thread calls exit_group(3) while A and B wait
//   (and a test may kill the process instead, with A and B still waiting)
// A shared file view (DIR/view, one page) gives the tracer a view to read out while they wait.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096

static int fd, uffd;
static char* page;
static const char* dir;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void waitFor(const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  while (stat(path, &st) != 0) usleep(5000);
}

static void* writerA(void* arg) {
  (void)arg;
  waitFor("a-go");
  if (write(fd, page, PAGE) != PAGE) die("write A");
  return NULL;
}

static void* writerB(void* arg) {
  (void)arg;
  waitFor("b-go");
  char path[4096];
  snprintf(path, sizeof path, "%s/b-ready", dir);
  int m = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (m < 0) die("b-ready");
  close(m);
  static const char rec[] = "B wrote this after A\n";
  if (write(fd, rec, sizeof rec - 1) != (ssize_t)(sizeof rec - 1)) die("write B");
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: see the comment at the top of turns.c\n");
    return 2;
  }
  const char* mode = argv[1];
  dir = argv[3];
  if ((fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) die("open");
  char view[4096];
  snprintf(view, sizeof view, "%s/view", dir);
  int v = open(view, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (v < 0 || ftruncate(v, PAGE) != 0) die("view");
  char* shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v, 0);
  if (shared == MAP_FAILED) die("mmap view");
  memcpy(shared, "stored through the view\n", 24);

  if ((uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC)) < 0) die("userfaultfd");
  struct uffdio_api api = {.api = UFFD_API};
  if (ioctl(uffd, UFFDIO_API, &api) != 0) die("UFFDIO_API");
  page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) die("mmap");
  struct uffdio_register reg = {.range = {.start = (unsigned long)page, .len = PAGE}, .mode = UFFDIO_REGISTER_MODE_MISSING};
  if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) die("UFFDIO_REGISTER");

  pthread_t a, b;
  if (pthread_create(&a, NULL, writerA, NULL) != 0 || pthread_create(&b, NULL, writerB, NULL) != 0) die("pthread_create");
  waitFor("go");
  if (strcmp(mode, "exit") == 0) syscall(SYS_exit_group, 3);
  static char src[PAGE];
  memset(src, 'A', PAGE);
  src[PAGE - 1] = '\n';
  struct uffdio_copy copy = {.dst = (unsigned long)page, .src = (unsigned long)src, .len = PAGE, .mode = 0};
  if (ioctl(uffd, UFFDIO_COPY, &copy) != 0) die("UFFDIO_COPY");
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  munmap(shared, PAGE);
  return close(fd) == 0 ? 0 : 1;
}
