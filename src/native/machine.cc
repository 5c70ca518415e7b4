// machine.cc: the lock, the signal handlers and restoring (see machine.h).
#include "native/machine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "native/restore_log.h"

namespace rmaplab::native {
namespace {

struct sigaction g_old_int, g_old_term;
bool g_machine_exists = false;

void OnTerminate(int sig) {
  RestoreLogRun();
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
}

int OpenLock() {
  for (const char* path :
       {"/run/lock/rmaplab-native.lock", "/tmp/rmaplab-native.lock"}) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
  }
  return -1;
}

}  // namespace

Result<std::unique_ptr<Machine>> Machine::Acquire() {
  if (g_machine_exists) {
    return Status::Error("a native run is already active in this process");
  }
  int fd = OpenLock();
  if (fd < 0) return Status::Error("cannot open the native-run lock file");
  int r;
  do {
    r = flock(fd, LOCK_EX);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    close(fd);
    return Status::Error(std::string("flock: ") + std::strerror(errno));
  }
  if (int undone = RestoreLogRecover())
    std::fprintf(stderr,
                 "rmaplab native: undid %d machine settings a killed run "
                 "left\n",
                 undone);
  std::unique_ptr<Machine> m(new Machine());
  m->lock_fd_ = fd;
  g_machine_exists = true;
  struct sigaction sa {};
  sa.sa_handler = OnTerminate;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  return m;
}

Machine::~Machine() {
  RestoreLogRun();
  if (khugepaged_keepalive_) munmap(khugepaged_keepalive_, 4096);
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_machine_exists = false;
  close(lock_fd_);  // releases the flock
}

void Machine::AddWorker(pid_t pid) { RestoreLogAddWorker(pid); }
void Machine::RemoveWorker(pid_t pid) { RestoreLogRemoveWorker(pid); }

}  // namespace rmaplab::native
