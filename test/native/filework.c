// A fixed workload for test/native/record-c.test.ts: positional and explicit-offset writes, a vector
// write, dup2, a forked child and a thread writing through the same description, ftruncate, a
// shared writable mapping, a copy the kernel does without the bytes passing through the program,
// and fcntl/ioctl close-on-exec changes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int fd;

static void *thread_main(void *arg) {
  (void)arg;
  return pwrite(fd, "T", 1, 0) == 1 ? NULL : (void *)1;
}

int main(void) {
  fd = open("a", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (write(fd, "hello", 5) != 5) return 1;
  if (pwrite(fd, "XY", 2, 1) != 2) return 1;
  struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
  if (writev(fd, iov, 2) != 5) return 1;
  if (dup2(fd, 10) != 10) return 1;
  if (write(10, "!", 1) != 1) return 1;
  pid_t child = fork();
  if (child == 0) _exit(write(fd, "child", 5) == 5 ? 3 : 1);
  int status;
  waitpid(child, &status, 0);
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);
  if (ftruncate(fd, 4) != 0) return 1;

  int m = open("m", O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
  if (ftruncate(m, 4096) != 0) return 1;
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
  if (p == MAP_FAILED) return 1;
  memcpy(p, "mapped!", 7);
  munmap(p, 4096);

  int c = open("c", O_CREAT | O_WRONLY | O_EXCL, 0644);
  off_t in = 0;
  if (copy_file_range(fd, &in, c, NULL, 4, 0) != 4) return 1;
  fcntl(c, F_SETFD, FD_CLOEXEC);
  ioctl(10, FIOCLEX);
  if (dup2(fd, 21) != 21 || close_range(20, 25, 0) != 0) return 1;
  close(c);
  close(m);
  close(10);
  close(fd);
  return WEXITSTATUS(status) == 3 ? 0 : 1;
}
