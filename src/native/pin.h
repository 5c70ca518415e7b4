// pin.h: long-term pins on a worker's memory through io_uring registered
// buffers (io_sqe_buffer_register -> pin_user_pages(FOLL_WRITE |
// FOLL_LONGTERM)), and device-style writes through those pins
// (IORING_OP_READ_FIXED copies into the pinned pages via the kernel's own
// mapping of them, not through the process's page table).
//
// Lives in the worker process.  Invariants:
//  (1) One ring per `pin` op; the pin lasts exactly as long as the ring.
//  (2) After fork the child drops the pin table it inherited (pins belong to
//      the process that took them); the parent's rings keep its pins.
//  (3) Built without liburing, every op fails with a "not supported
//      natively" message instead of an errno.
#ifndef RMAPLAB_NATIVE_PIN_H_
#define RMAPLAB_NATIVE_PIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rmaplab/trace.h"

namespace rmaplab::native {

// The outcome of a pin op: a Linux errno, or a reason it cannot run here.
struct PinResult {
  int error = 0;
  std::string unsupported;  // non-empty: cannot run natively
};

class PinTable {
 public:
  PinTable();
  ~PinTable();
  PinTable(const PinTable&) = delete;
  PinTable& operator=(const PinTable&) = delete;

  PinResult Pin(uint64_t addr, uint64_t len);
  // Writes WriteValue(op, page) into each page of [op.addr, op.addr+op.len),
  // which must lie inside one pin.
  PinResult DmaWrite(const Op& op);
  // Drops every pin lying inside [addr, addr+len); EINVAL if there is none.
  PinResult Unpin(uint64_t addr, uint64_t len);
  // In a freshly forked child: release the inherited rings.
  void DropAfterFork();

 private:
  struct Ring;
  std::vector<std::unique_ptr<Ring>> rings_;
};

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_PIN_H_
