// io_uring without liburing, for the interceptor's io_uring tests: the raw io_uring_setup and
// io_uring_enter calls, the rings mapped by hand, IORING_OP_WRITE submitted through them (no write(2)).
//   uring write FILE TEXT [sqpoll]   ring, then TEXT written to FILE at 0 through the ring; then a forked
//                                    child writes TEXT again at the end through the inherited ring
//   uring wait FILE TEXT GO [sqpoll] ring first, then (once GO exists) TEXT written to FILE through it;
//                                    for attach, which must find the ring that was there before it came
//                                    (sqpoll: with the kernel's submission thread, iou-sqp, in the process)
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct ring {
  int fd;
  unsigned *sqTail, *sqMask, *sqArray, *cqHead, *cqTail, *cqMask;
  struct io_uring_sqe* sqes;
  struct io_uring_cqe* cqes;
};

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void* map(int fd, size_t len, off_t what) {
  void* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, what);
  if (p == MAP_FAILED) die("mmap ring");
  return p;
}

static void setup(struct ring* r, int sqpoll) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  if (sqpoll) {
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 2000;
  }
  r->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
  if (r->fd < 0) die("io_uring_setup");
  char* sq = map(r->fd, p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
  char* cq = map(r->fd, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), IORING_OFF_CQ_RING);
  r->sqes = map(r->fd, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
  r->sqTail = (unsigned*)(sq + p.sq_off.tail);
  r->sqMask = (unsigned*)(sq + p.sq_off.ring_mask);
  r->sqArray = (unsigned*)(sq + p.sq_off.array);
  r->cqHead = (unsigned*)(cq + p.cq_off.head);
  r->cqTail = (unsigned*)(cq + p.cq_off.tail);
  r->cqMask = (unsigned*)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
}

/** One IORING_OP_WRITE of text to fd at off; returns the completion's result. */
static int ringWrite(struct ring* r, int fd, const char* text, off_t off) {
  unsigned tail = *r->sqTail, idx = tail & *r->sqMask;
  struct io_uring_sqe* sqe = &r->sqes[idx];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_WRITE;
  sqe->fd = fd;
  sqe->addr = (unsigned long)text;
  sqe->len = (unsigned)strlen(text);
  sqe->off = (unsigned long long)off;
  r->sqArray[idx] = idx;
  __atomic_store_n(r->sqTail, tail + 1, __ATOMIC_RELEASE);
  // with SQPOLL the kernel thread submits; the call only waits (and wakes the thread if it sleeps)
  if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_SQ_WAKEUP, NULL, 0) < 0) die("io_uring_enter");
  unsigned head = *r->cqHead;
  while (head == __atomic_load_n(r->cqTail, __ATOMIC_ACQUIRE)) usleep(1000);
  int res = r->cqes[head & *r->cqMask].res;
  __atomic_store_n(r->cqHead, head + 1, __ATOMIC_RELEASE);
  return res;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: see the comment at the top of uring.c\n");
    return 2;
  }
  const char* text = argv[3];
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open");
  struct ring r;
  if (strcmp(argv[1], "write") == 0) {
    setup(&r, argc > 4 && strcmp(argv[4], "sqpoll") == 0);
    if (ringWrite(&r, fd, text, 0) != (int)strlen(text)) die("ring write");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) _exit(ringWrite(&r, fd, text, (off_t)strlen(text)) == (int)strlen(text) ? 0 : 1);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child");
    return close(fd) == 0 ? 0 : 1;
  }
  if (strcmp(argv[1], "wait") == 0 && argc >= 5) {
    setup(&r, argc > 5 && strcmp(argv[5], "sqpoll") == 0);
    struct stat st;
    while (stat(argv[4], &st) != 0) usleep(10000);
    if (ringWrite(&r, fd, text, 0) != (int)strlen(text)) die("ring write");
    return close(fd) == 0 ? 0 : 1;
  }
  fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
