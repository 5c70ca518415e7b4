// restore_log.cc: see restore_log.h.
#include "native/restore_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "native/proc.h"

namespace rmaplab::native {
namespace {

struct Undo {
  UndoKind kind;
  char path[128];
  char value[64];
};

constexpr int kMaxUndo = 64;
constexpr char kJournal[] = "/run/lock/rmaplab-native.journal";
constexpr int kMaxWorkers = 1024;

Undo g_undo[kMaxUndo];
volatile sig_atomic_t g_undo_count = 0;
pid_t g_workers[kMaxWorkers];
volatile sig_atomic_t g_worker_count = 0;

void CopyString(char* dst, size_t size, const std::string& src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size - 1));
}

void RunUndo(const Undo& u) {
  switch (u.kind) {
    case UndoKind::kWriteFile: {
      int fd = open(u.path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        ssize_t ignored = write(fd, u.value, strlen(u.value));
        (void)ignored;
        close(fd);
      }
      return;
    }
    case UndoKind::kSwapoff:
      swapoff(u.path);
      return;
    case UndoKind::kRmdir:
      rmdir(u.path);
      return;
  }
}

// The journal is the log's entries as they are in memory.
Status WriteJournal() {
  int fd = open(kJournal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(std::string("open ") + kJournal);
  size_t bytes = sizeof(Undo) * g_undo_count;
  bool ok =
      write(fd, g_undo, bytes) == static_cast<ssize_t>(bytes) && fsync(fd) == 0;
  close(fd);
  return ok ? Status::Ok() : Status::Error(std::string("write ") + kJournal);
}

}  // namespace

Status WriteSysfs(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error("open " + path + ": " + std::strerror(errno));
  }
  ssize_t n = write(fd, value.data(), value.size());
  int saved = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return Status::Error("write '" + value + "' to " + path + ": " +
                         std::strerror(saved));
  }
  return Status::Ok();
}

Status RestoreLogPush(UndoKind kind, const std::string& path,
                      const std::string& value) {
  if (g_undo_count >= kMaxUndo) return Status::Error("restore log full");
  if (path.size() >= sizeof g_undo[0].path ||
      value.size() >= sizeof g_undo[0].value) {
    return Status::Error("restore log: entry too long: " + path);
  }
  Undo& u = g_undo[g_undo_count];
  u.kind = kind;
  CopyString(u.path, sizeof u.path, path);
  CopyString(u.value, sizeof u.value, value);
  g_undo_count = g_undo_count + 1;
  return WriteJournal();
}

int RestoreLogRecover() {
  int fd = open(kJournal, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, g_undo, sizeof g_undo);
  close(fd);
  g_undo_count = n > 0 ? static_cast<int>(n / sizeof(Undo)) : 0;
  int undone = g_undo_count;
  RestoreLogRun();
  return undone;
}

Status RestoreLogSaveFile(const std::string& path) {
  Result<std::string> old = ReadSmallFile(path);
  if (!old.ok()) return old.status();
  std::string v = old.value();
  while (!v.empty() && v.back() == '\n') v.pop_back();
  // A sysfs choice list such as "[none] scan-time" is restored by name.
  size_t open_bracket = v.find('['), close_bracket = v.find(']');
  if (open_bracket != std::string::npos && close_bracket != std::string::npos) {
    v = v.substr(open_bracket + 1, close_bracket - open_bracket - 1);
  }
  return RestoreLogPush(UndoKind::kWriteFile, path, v);
}

void RestoreLogAddWorker(pid_t pid) {
  if (g_worker_count < kMaxWorkers) {
    g_workers[g_worker_count] = pid;
    g_worker_count = g_worker_count + 1;
  }
}

void RestoreLogRemoveWorker(pid_t pid) {
  for (int i = 0; i < g_worker_count; ++i) {
    if (g_workers[i] != pid) continue;
    g_workers[i] = g_workers[g_worker_count - 1];
    g_worker_count = g_worker_count - 1;
    return;
  }
}

void RestoreLogRun() {
  for (int i = 0; i < g_worker_count; ++i) kill(g_workers[i], SIGKILL);
  for (int i = 0; i < g_worker_count; ++i) waitpid(g_workers[i], nullptr, 0);
  g_worker_count = 0;
  while (g_undo_count > 0) {
    g_undo_count = g_undo_count - 1;
    RunUndo(g_undo[g_undo_count]);
  }
  unlink(kJournal);
}

}  // namespace rmaplab::native
