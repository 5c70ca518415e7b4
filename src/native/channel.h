// channel.h: the controller <-> worker protocol over one AF_UNIX
// SOCK_SEQPACKET socket per worker.
//
// Invariants:
//  (1) Strictly request/reply: the controller sends one Request and waits for
//      exactly one Reply before it sends anything else to that worker.
//  (2) Messages are fixed-size, trivially copyable structs; a short or empty
//      read means the peer is gone (EOF), never a partial message.
//  (3) A Request may carry one file descriptor (SCM_RIGHTS): the new worker's
//      end of its socket, for kFork.
#ifndef RMAPLAB_NATIVE_CHANNEL_H_
#define RMAPLAB_NATIVE_CHANNEL_H_

#include <cstdint>
#include <type_traits>

#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab::native {

enum class Command : uint32_t {
  kOp,    // run `op` (a process op that the worker executes itself)
  kFork,  // fork; carries the child's socket; reply.child_pid
  kExit,  // _exit(0); no reply
  kExec,  // re-execute the worker (a real new mm, same pid); the reply is
          // the new image's "ready", or an errno if execve failed
};

struct Request {
  Command cmd = Command::kOp;
  Op op;
};
static_assert(std::is_trivially_copyable_v<Request>);

struct Reply {
  int error = 0;           // Linux errno, 0 on success
  int child_pid = 0;       // kFork: the real pid of the child
  int64_t elapsed_ns = 0;  // time spent in the syscalls / accesses
  uint64_t faults = 0;     // minflt + majflt of the worker during the op
  char message[160] = {};  // a reason the op cannot run natively; empty if none
};
static_assert(std::is_trivially_copyable_v<Reply>);

// Each returns false if the peer is gone or the socket failed.
bool SendRequest(int sock, const Request& req, int pass_fd = -1);
bool ReceiveRequest(int sock, Request* req, int* passed_fd);
bool SendReply(int sock, const Reply& reply);
bool ReceiveReply(int sock, Reply* reply);

// Linux errno -> the spec's errno names; kENOSYS for anything else, with
// `known` false so the caller can say which errno it could not name.
Errno ErrnoFromLinux(int linux_errno, bool* known);

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_CHANNEL_H_
