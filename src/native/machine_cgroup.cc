// machine_cgroup.cc: `* reclaim PAGES` through a cgroup v2 `memory.reclaim`
// (Documentation/admin-guide/cgroup-v2.rst), when the machine has one.
//
// The workers are moved into a dedicated cgroup under the cgroup2 mount;
// children forked later inherit it.  The cgroup is removed at restore time,
// after the workers are reaped.  On a machine whose memory controller is
// bound to cgroup v1 (memory absent from cgroup.controllers) this returns
// false and the controller falls back to MADV_PAGEOUT.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "native/machine.h"
#include "native/restore_log.h"

namespace rmaplab::native {
namespace {

// The cgroup2 mount point, or "" if none.
std::string Cgroup2Mount() {
  Result<std::string> mounts = ReadSmallFile("/proc/self/mounts");
  if (!mounts.ok()) return "";
  std::istringstream in(mounts.value());
  std::string dev, dir, type, line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    if (f >> dev >> dir >> type && type == "cgroup2") return dir;
  }
  return "";
}

bool HasWord(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

}  // namespace

Status Machine::EnsureCgroup() {
  std::string root = Cgroup2Mount();
  Result<std::string> controllers = ReadSmallFile(root + "/cgroup.controllers");
  if (root.empty() || !controllers.ok() ||
      !HasWord(controllers.value(), "memory")) {
    cgroup_unavailable_ = true;
    return Status::Ok();
  }
  Result<std::string> subtree = ReadSmallFile(root + "/cgroup.subtree_control");
  if (subtree.ok() && !HasWord(subtree.value(), "memory")) {
    Status s = RestoreLogPush(UndoKind::kWriteFile,
                              root + "/cgroup.subtree_control", "-memory");
    if (s.ok()) s = WriteSysfs(root + "/cgroup.subtree_control", "+memory");
    if (!s.ok()) return s;
  }
  std::string dir = root + "/rmaplab-native-" + std::to_string(getpid());
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::Error("mkdir " + dir + ": " + strerror(errno));
  }
  Status s = RestoreLogPush(UndoKind::kRmdir, dir);
  if (s.ok()) cgroup_dir_ = dir;
  return s;
}

Result<bool> Machine::ReclaimThroughCgroup(uint64_t pages,
                                           const std::vector<pid_t>& workers) {
  if (cgroup_dir_.empty() && !cgroup_unavailable_) {
    Status s = EnsureCgroup();
    if (!s.ok()) return s;
  }
  if (cgroup_unavailable_) return false;
  for (pid_t pid : workers) {
    Status s = WriteSysfs(cgroup_dir_ + "/cgroup.procs", std::to_string(pid));
    if (!s.ok()) return s;
  }
  // EAGAIN means fewer pages could be reclaimed: still a completed op.
  Status s =
      WriteSysfs(cgroup_dir_ + "/memory.reclaim", std::to_string(pages * 4096));
  if (!s.ok() && s.message().find(strerror(EAGAIN)) == std::string::npos) {
    return s;
  }
  return true;
}

}  // namespace rmaplab::native
