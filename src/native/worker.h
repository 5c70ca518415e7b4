// worker.h: the process that stands for one trace pid.
//
// A worker executes the process ops of its trace pid as real syscalls and
// real memory accesses by itself, so every fault, COW and pin happens in the
// process the trace names.  It is driven by the controller over one socket
// (channel.h) and never decides anything on its own.
//
// Invariants:
//  (1) A worker never dies of bad input: every refused syscall and every
//      SIGSEGV/SIGBUS during a trace access becomes an errno in the Reply.
//  (2) `fork` is a real fork (clone without CLONE_VM) with CLONE_PARENT, so
//      every worker is a direct child of the controller, which reaps it.
//  (3) A worker holds no file descriptor but its socket (and its pins'
//      rings); it dies with the controller (PR_SET_PDEATHSIG).
//  (4) `exec` re-executes the worker's own binary (/proc/self/exe) with its
//      socket on fd 3 and kWorkerFdEnv set; a constructor in worker.cc sees
//      the variable before main() and runs RunWorker, so any binary that
//      links the native replayer (rmaplab, the tests) can be a worker.
#ifndef RMAPLAB_NATIVE_WORKER_H_
#define RMAPLAB_NATIVE_WORKER_H_

namespace rmaplab::native {

// Set in the environment of a re-executed worker: the fd of its socket.
inline constexpr const char* kWorkerFdEnv = "RMAPLAB_NATIVE_WORKER_FD";

// Runs in a freshly forked child of the controller; never returns.
[[noreturn]] void RunWorker(int sock);

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_WORKER_H_
