// Scale workloads for the reliability suite (compiled by test/reliability/scale.ts with cc).
//   scale pwrite T N FILE   T threads, each N pwrite()s of one 64-byte record at its own offsets
//   scale append T N FILE   T threads, each N write()s of one record to a shared O_APPEND fd
//   scale shared T N FILE   T threads, each N write()s of one record to a shared fd (shared position)
//   scale files F DIR       F files DIR/fNNNNNN, each with its own few bytes
//   scale sparse SIZE W FILE SEED   W pwrite()s of 4 KiB at random offsets below SIZE, then ftruncate(SIZE)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC 64

static int fd;
static long per;
static const char* mode;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void record(char* buf, long t, long i) {
  memset(buf, '.', REC);
  int n = snprintf(buf, REC, "thread %04ld record %06ld", t, i);
  buf[n] = ' ';
  buf[REC - 1] = '\n';
}

static void* writer(void* arg) {
  long t = (long)arg;
  char buf[REC];
  for (long i = 0; i < per; i++) {
    record(buf, t, i);
    ssize_t w = strcmp(mode, "pwrite") == 0 ? pwrite(fd, buf, REC, (off_t)(t * per + i) * REC) : write(fd, buf, REC);
    if (w != REC) die("write");
  }
  return NULL;
}

static uint64_t state;
static uint64_t next(void) {  // splitmix64
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int main(int argc, char** argv) {
  if (argc < 5 && !(argc == 4 && strcmp(argv[1], "files") == 0)) {
    fprintf(stderr, "usage: see the comment at the top of scale.c\n");
    return 2;
  }
  mode = argv[1];
  if (strcmp(mode, "pwrite") == 0 || strcmp(mode, "append") == 0 || strcmp(mode, "shared") == 0) {
    long threads = atol(argv[2]);
    per = atol(argv[3]);
    int flags = O_WRONLY | O_CREAT | O_TRUNC | (strcmp(mode, "append") == 0 ? O_APPEND : 0);
    if ((fd = open(argv[4], flags, 0644)) < 0) die("open");
    pthread_t* ts = calloc((size_t)threads, sizeof *ts);
    for (long t = 0; t < threads; t++)
      if (pthread_create(&ts[t], NULL, writer, (void*)t) != 0) die("pthread_create");
    for (long t = 0; t < threads; t++) pthread_join(ts[t], NULL);
    return close(fd) == 0 ? 0 : 1;
  }
  if (strcmp(mode, "files") == 0) {
    long n = atol(argv[2]);
    char path[4096], body[64];
    for (long i = 0; i < n; i++) {
      snprintf(path, sizeof path, "%s/f%06ld", argv[3], i);
      int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (f < 0) die("open");
      int len = snprintf(body, sizeof body, "file %ld\n", i);
      if (write(f, body, (size_t)len) != len) die("write");
      close(f);
    }
    return 0;
  }
  if (strcmp(mode, "sparse") == 0 && argc == 6) {
    uint64_t size = strtoull(argv[2], NULL, 10);
    long writes = atol(argv[3]);
    state = strtoull(argv[5], NULL, 10);
    if ((fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) die("open");
    char buf[4096];
    for (long i = 0; i < writes; i++) {
      uint64_t off = next() % (size - sizeof buf);
      for (size_t k = 0; k < sizeof buf; k++) buf[k] = (char)('a' + (i + k) % 26);
      snprintf(buf, sizeof buf, "write %ld at %llu", i, (unsigned long long)off);
      if (pwrite(fd, buf, sizeof buf, (off_t)off) != (ssize_t)sizeof buf) die("pwrite");
    }
    if (ftruncate(fd, (off_t)size) != 0) die("ftruncate");
    return close(fd) == 0 ? 0 : 1;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
