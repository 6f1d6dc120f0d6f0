// Linux native AIO: io_submit(ctx, nr, iocbs) hands the kernel writes (IOCB_CMD_PWRITE, PWRITEV)
// with no write call (databases: InnoDB's data files). Where eyrie journals writes one by one (an
// attached tree; a large file that existed before, whose old bytes are kept before each write:
// content.cc) it journals these as file.write too, the old bytes first; a file written without
// stops is read back as ever (deferred.cc). Buffered AIO is done by the time io_submit returns;
// an O_DIRECT one may complete later, from the buffer read here at the return.
#include <linux/aio_abi.h>
#include <linux/fs.h>

#include <algorithm>
#include <vector>

#include "memory.h"
#include "procfs.h"
#include "tracer.h"

namespace eyrie {

namespace {

constexpr uint64_t kMaxIocbs = 4096;  // read at most this many of one submission

}  // namespace

bool Tracer::aioSubmitEntry(Task& t, const Origin& o) {
  Call& c = t.call;
  uint64_t nr = std::min<uint64_t>(static_cast<uint64_t>(static_cast<int64_t>(c.args[1]) < 0 ? 0 : c.args[1]), kMaxIocbs);
  std::vector<uint64_t> ptrs(nr);
  if (nr == 0 || readMemory(t.tid, c.args[2], nr * sizeof(uint64_t), reinterpret_cast<uint8_t*>(ptrs.data())) != nr * sizeof(uint64_t)) return false;
  for (uint32_t i = 0; i < nr; i++) {
    iocb cb{};
    if (readMemory(t.tid, ptrs[i], sizeof cb, reinterpret_cast<uint8_t*>(&cb)) != sizeof cb) break;  // the kernel stops there too (EFAULT)
    if (cb.aio_lio_opcode != IOCB_CMD_PWRITE && cb.aio_lio_opcode != IOCB_CMD_PWRITEV) continue;
    int fd = static_cast<int>(cb.aio_fildes);
    FdEntry* e = fdOf(t, fd);
    if (e == nullptr || !e->regular) continue;
    bool perWrite = cfg_.everyCall() || (e->observeWrites && wholeKnown_.count(e->inode) == 0);
    if (!perWrite) continue;  // written without stops: read back
    bool vector = cb.aio_lio_opcode == IOCB_CMD_PWRITEV;
    uint64_t bytes = vector ? iovLength(t.tid, cb.aio_buf, cb.aio_nbytes) : cb.aio_nbytes;
    Call::AioWrite w{i, fd, false, 0, vector, cb.aio_buf, cb.aio_nbytes, bytes};
    w.located = landsAt(t.tid, fd, (cb.aio_rw_flags & RWF_APPEND) != 0, static_cast<uint64_t>(cb.aio_offset), w.offset);
    if (w.located && e->observeWrites) preimage(t, fd, *e, w.offset, bytes, o);
    c.aio.push_back(w);
  }
  return !c.aio.empty();
}

void Tracer::aioSubmitExit(Task& t, int64_t ret, const Origin& o) {
  if (ret <= 0) return;  // nothing submitted
  for (const Call::AioWrite& w : t.call.aio) {
    if (w.index >= static_cast<uint64_t>(ret)) break;  // the first ret iocbs went in
    emit(Kind::FileWrite, o, [&](Record& r) {
      r.num(static_cast<uint64_t>(w.fd)).nullableNum(w.located, w.offset).num(w.bytes);
      uint8_t* p = r.payload(w.bytes);
      r.payloadDone(w.vector ? readIovecs(t.tid, w.buf, w.count, w.bytes, p) : readMemory(t.tid, w.buf, w.bytes, p));
      r.flag(false);
    });
    FdEntry* e = fdOf(t, w.fd);
    if (e == nullptr) continue;
    if (w.located) noteWritten(e->inode, w.offset, w.bytes);
    forgetPages(e->inode, w.located ? w.offset : 0, w.located ? w.offset + w.bytes : ~0ull);
  }
}

}  // namespace eyrie
