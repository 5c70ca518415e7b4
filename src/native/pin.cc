// pin.cc: io_uring registered buffers as FOLL_LONGTERM pins (see pin.h).
#include "native/pin.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifdef RMAPLAB_HAVE_LIBURING
#include <liburing.h>
#endif

namespace rmaplab::native {

#ifdef RMAPLAB_HAVE_LIBURING

struct PinTable::Ring {
  uint64_t addr = 0;
  uint64_t len = 0;
  io_uring ring{};
};

namespace {

// A memfd holding WriteValue(op, page) in each page's first 8 bytes, rest 0:
// the "device" side of a dmawrite.
int MakeSourceFile(const Op& op) {
  int fd = memfd_create("rmaplab-dma", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (ftruncate(fd, static_cast<off_t>(op.len)) != 0) {
    close(fd);
    return -1;
  }
  for (uint64_t off = 0; off < op.len; off += kPageSize) {
    uint64_t v = WriteValue(op, op.addr + off);
    if (pwrite(fd, &v, sizeof v, static_cast<off_t>(off)) != sizeof v) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

// One IORING_OP_READ_FIXED of `len` bytes from `fd` into buffer 0 at `addr`.
int ReadFixed(io_uring* ring, int fd, uint64_t addr, uint64_t len) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) return EBUSY;
  io_uring_prep_read_fixed(sqe, fd, reinterpret_cast<void*>(addr),
                           static_cast<unsigned>(len), 0, 0);
  int r = io_uring_submit(ring);
  if (r < 0) return -r;
  io_uring_cqe* cqe = nullptr;
  r = io_uring_wait_cqe(ring, &cqe);
  if (r < 0) return -r;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  if (res < 0) return -res;
  return static_cast<uint64_t>(res) == len ? 0 : EIO;
}

}  // namespace

PinTable::PinTable() = default;

PinTable::~PinTable() {
  for (auto& r : rings_) io_uring_queue_exit(&r->ring);
}

PinResult PinTable::Pin(uint64_t addr, uint64_t len) {
  auto r = std::make_unique<Ring>();
  r->addr = addr;
  r->len = len;
  int e = io_uring_queue_init(4, &r->ring, 0);
  if (e < 0) return {0, "io_uring_setup failed: " + std::string(strerror(-e))};
  iovec iov{reinterpret_cast<void*>(addr), len};
  e = io_uring_register_buffers(&r->ring, &iov, 1);
  if (e < 0) {
    io_uring_queue_exit(&r->ring);
    return {-e, ""};
  }
  rings_.push_back(std::move(r));
  return {};
}

PinResult PinTable::DmaWrite(const Op& op) {
  for (auto& r : rings_) {
    if (op.addr < r->addr || op.addr + op.len > r->addr + r->len) continue;
    int fd = MakeSourceFile(op);
    if (fd < 0)
      return {0, "memfd for dmawrite: " + std::string(strerror(errno))};
    int e = ReadFixed(&r->ring, fd, op.addr, op.len);
    close(fd);
    return {e, ""};
  }
  return {EINVAL, ""};
}

PinResult PinTable::Unpin(uint64_t addr, uint64_t len) {
  size_t before = rings_.size();
  std::erase_if(rings_, [&](std::unique_ptr<Ring>& r) {
    if (r->addr < addr || r->addr + r->len > addr + len) return false;
    // Unregister first: that unpins now.  Closing the ring alone defers the
    // unpin to io_ring_exit_work(), so a fork right after `unpin` would
    // still see the pages as maybe-DMA-pinned and copy them.
    io_uring_unregister_buffers(&r->ring);
    io_uring_queue_exit(&r->ring);
    return true;
  });
  return {rings_.size() == before ? EINVAL : 0, ""};
}

void PinTable::DropAfterFork() {
  for (auto& r : rings_) io_uring_queue_exit(&r->ring);
  rings_.clear();
}

#else  // !RMAPLAB_HAVE_LIBURING

struct PinTable::Ring {};

namespace {
constexpr char kNoUring[] =
    "pins are not supported natively: built without liburing";
}

PinTable::PinTable() = default;
PinTable::~PinTable() = default;
PinResult PinTable::Pin(uint64_t, uint64_t) { return {0, kNoUring}; }
PinResult PinTable::DmaWrite(const Op&) { return {0, kNoUring}; }
PinResult PinTable::Unpin(uint64_t, uint64_t) { return {0, kNoUring}; }
void PinTable::DropAfterFork() {}

#endif  // RMAPLAB_HAVE_LIBURING

}  // namespace rmaplab::native
