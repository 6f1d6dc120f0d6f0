// A workload driver for kernel-as-oracle tests: runs file steps given as arguments, one step per
// argument, and reports after each. Build: cc -O1 -pthread -o driver driver.c
//
//   driver [-n] STEP...
//
// Steps (words separated by single spaces; S and T name fd slots, PATH is relative to the cwd):
//   open S PATH FLAGS      FLAGS: comma list of r w rw creat excl trunc append cloexec
//   close S
//   write S HEX            pwrite S OFFSET HEX         writev S HEX HEX...
//   lseek S OFFSET set|cur|end                         read S LEN
//   ftruncate S LEN        rename PATH PATH            unlink PATH
//   dup S T                (T := dup(S))               dup2 S T FD   (T := dup2(S, FD))
//   fork ... end           the steps up to the matching end run in a child; the parent waits
//   thread ... end         the steps up to the matching end run in a new thread; the parent joins
//
// Output on fd 1, one write(2) per line: first "BEGIN", then after each step
//   STEP <n> <name> <ret> <errno> [<path>=<sha256 of its bytes, or - if absent>]...
// with n the step's 1-based position among the arguments, and one hash per path named anywhere in
// the arguments (in order of first mention). -n leaves the hashes out (the file reads that hashing
// needs would show up in a trace). When fd 1 is a regular file, each report is itself a file.write
// in a trace: a marker saying "everything before me is step n".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

// ---- SHA-256 (FIPS 180-4), enough for hashing test files ----
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

struct sha {
  uint32_t h[8];
  uint8_t buf[64];
  size_t used;
  uint64_t bits;
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha *s, const uint8_t *p) {
  uint32_t w[64], a, b, c, d, e, f, g, h;
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(struct sha *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->used = 0;
  s->bits = 0;
}

static void sha_update(struct sha *s, const uint8_t *p, size_t n) {
  s->bits += (uint64_t)n * 8;
  while (n > 0) {
    size_t k = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->buf + s->used, p, k);
    s->used += k, p += k, n -= k;
    if (s->used == 64) sha_block(s, s->buf), s->used = 0;
  }
}

static void sha_hex(struct sha *s, char out[65]) {
  uint64_t bits = s->bits;
  uint8_t pad = 0x80, zero = 0, len[8];
  sha_update(s, &pad, 1);
  while (s->used != 56) sha_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

// ---- steps ----
static int argc_;
static int first_;  // index of the first step among the arguments
static char **argv_;
static int hashing = 1;
static const char *paths[256];
static int npaths;
static int slots[26];  // fd per slot letter, -1 when none

static void say(const char *line) {
  size_t n = strlen(line);
  while (n > 0) {
    ssize_t k = write(1, line, n);
    if (k <= 0) exit(70);
    line += k, n -= (size_t)k;
  }
}

static void note_path(const char *p) {
  for (int i = 0; i < npaths; i++)
    if (strcmp(paths[i], p) == 0) return;
  if (npaths < 256) paths[npaths++] = strdup(p);
}

static int split(char *s, char **w, int max) {
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(s, " ", &save); tok != NULL && n < max; tok = strtok_r(NULL, " ", &save)) w[n++] = tok;
  return n;
}

static int slot(const char *name) { return name[0] >= 'a' && name[0] <= 'z' ? name[0] - 'a' : 0; }

static size_t unhex(const char *hex, char *out) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&out[i]);
  return n;
}

static int open_flags(char *spec) {
  int f = 0;
  char *save = NULL;
  for (char *tok = strtok_r(spec, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
    if (strcmp(tok, "r") == 0) f |= O_RDONLY;
    else if (strcmp(tok, "w") == 0) f |= O_WRONLY;
    else if (strcmp(tok, "rw") == 0) f |= O_RDWR;
    else if (strcmp(tok, "creat") == 0) f |= O_CREAT;
    else if (strcmp(tok, "excl") == 0) f |= O_EXCL;
    else if (strcmp(tok, "trunc") == 0) f |= O_TRUNC;
    else if (strcmp(tok, "append") == 0) f |= O_APPEND;
    else if (strcmp(tok, "cloexec") == 0) f |= O_CLOEXEC;
  }
  return f;
}

static void report(int n, const char *name, long ret, int err) {
  char line[256 + 256 * 80];
  int at = snprintf(line, 256, "STEP %d %s %ld %d", n, name, ret, err);
  for (int i = 0; hashing && i < npaths; i++) {
    char hex[65] = "-";
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      struct sha s;
      uint8_t buf[65536];
      ssize_t k;
      sha_init(&s);
      while ((k = read(fd, buf, sizeof buf)) > 0) sha_update(&s, buf, (size_t)k);
      close(fd);
      sha_hex(&s, hex);
    }
    at += snprintf(line + at, sizeof line - (size_t)at, " %s=%s", paths[i], hex);
  }
  snprintf(line + at, sizeof line - (size_t)at, "\n");
  say(line);
}

/** Index just past the "end" matching the block opened at i. */
static int block_end(int i) {
  int depth = 0;
  for (int j = i; j < argc_; j++) {
    if (strcmp(argv_[j], "fork") == 0 || strcmp(argv_[j], "thread") == 0) depth++;
    else if (strcmp(argv_[j], "end") == 0 && --depth == 0) return j + 1;
  }
  return argc_;
}

static void run(int from, int to);

struct range {
  int from, to;
};

static void *thread_main(void *arg) {
  struct range *r = arg;
  run(r->from, r->to);
  return NULL;
}

static void step(int i, int *next) {
  char copy[8192];
  char *w[64];
  snprintf(copy, sizeof copy, "%s", argv_[i]);
  int nw = split(copy, w, 64);
  int n = i - first_ + 1;
  long ret = 0;
  char data[4096];
  *next = i + 1;
  errno = 0;
  if (nw == 0) return;
  const char *op = w[0];
  if (strcmp(op, "open") == 0 && nw == 4) {
    ret = open(w[2], open_flags(w[3]), 0644);
    if (ret >= 0) slots[slot(w[1])] = (int)ret;
  } else if (strcmp(op, "close") == 0 && nw == 2) {
    ret = close(slots[slot(w[1])]);
    slots[slot(w[1])] = -1;
  } else if (strcmp(op, "write") == 0 && nw == 3) {
    ret = write(slots[slot(w[1])], data, unhex(w[2], data));
  } else if (strcmp(op, "pwrite") == 0 && nw == 4) {
    ret = pwrite(slots[slot(w[1])], data, unhex(w[3], data), atol(w[2]));
  } else if (strcmp(op, "writev") == 0 && nw >= 3) {
    struct iovec iov[60];
    size_t at = 0;
    for (int k = 2; k < nw; k++) {
      size_t len = unhex(w[k], data + at);
      iov[k - 2].iov_base = data + at;
      iov[k - 2].iov_len = len;
      at += len;
    }
    ret = writev(slots[slot(w[1])], iov, nw - 2);
  } else if (strcmp(op, "lseek") == 0 && nw == 4) {
    int whence = strcmp(w[3], "cur") == 0 ? SEEK_CUR : strcmp(w[3], "end") == 0 ? SEEK_END : SEEK_SET;
    ret = lseek(slots[slot(w[1])], atol(w[2]), whence);
  } else if (strcmp(op, "read") == 0 && nw == 3) {
    size_t len = (size_t)atol(w[2]);
    ret = read(slots[slot(w[1])], data, len < sizeof data ? len : sizeof data);
  } else if (strcmp(op, "ftruncate") == 0 && nw == 3) {
    ret = ftruncate(slots[slot(w[1])], atol(w[2]));
  } else if (strcmp(op, "rename") == 0 && nw == 3) {
    ret = rename(w[1], w[2]);
  } else if (strcmp(op, "unlink") == 0 && nw == 2) {
    ret = unlink(w[1]);
  } else if (strcmp(op, "dup") == 0 && nw == 3) {
    ret = dup(slots[slot(w[1])]);
    if (ret >= 0) slots[slot(w[2])] = (int)ret;
  } else if (strcmp(op, "dup2") == 0 && nw == 4) {
    ret = dup2(slots[slot(w[1])], atoi(w[3]));
    if (ret >= 0) slots[slot(w[2])] = (int)ret;
  } else if (strcmp(op, "fork") == 0) {
    int end = block_end(i);
    pid_t pid = fork();
    if (pid == 0) {
      run(i + 1, end);
      _exit(0);
    }
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    ret = pid > 0 ? WEXITSTATUS(status) : -1;
    *next = end;
  } else if (strcmp(op, "thread") == 0) {
    int end = block_end(i);
    pthread_t t;
    struct range r = {i + 1, end};
    ret = pthread_create(&t, NULL, thread_main, &r);
    if (ret == 0) pthread_join(t, NULL);
    *next = end;
  } else if (strcmp(op, "end") == 0) {
    ret = 0;
  } else {
    fprintf(stderr, "driver: bad step %d: %s\n", i, argv_[i]);
    exit(64);
  }
  report(n, op, ret, ret < 0 ? errno : 0);
}

static void run(int from, int to) {
  for (int i = from; i < to;) step(i, &i);
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "-n") == 0) hashing = 0, first = 2;
  argc_ = argc;
  argv_ = argv;
  first_ = first;
  for (int i = 0; i < 26; i++) slots[i] = -1;
  for (int i = first; i < argc; i++) {
    char copy[8192], *w[64];
    snprintf(copy, sizeof copy, "%s", argv[i]);
    int nw = split(copy, w, 64);
    if (nw >= 3 && strcmp(w[0], "open") == 0) note_path(w[2]);
    if (nw >= 2 && strcmp(w[0], "unlink") == 0) note_path(w[1]);
    if (nw >= 3 && strcmp(w[0], "rename") == 0) note_path(w[1]), note_path(w[2]);
  }
  say("BEGIN\n");
  run(first, argc);
  return 0;
}
