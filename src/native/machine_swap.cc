// machine_swap.cc: a zram swap device for the run (zram.rst, swapon(2)).
//
// /dev/zram0 is used if it is unconfigured (disksize 0) and not a swap area;
// otherwise a device is hot-added.  Undo order (restore log, reversed):
// swapoff, reset, hot_remove.  A run killed by SIGKILL leaves its device
// on; the next run undoes it from the restore log's journal.
#include <fcntl.h>
#include <spawn.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "native/machine.h"
#include "native/restore_log.h"

extern char** environ;

namespace rmaplab::native {
namespace {

constexpr char kZramControl[] = "/sys/class/zram-control/";
constexpr char kDiskSize[] = "268435456";  // 256 MiB of swap

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool IsSwapArea(const std::string& dev) {
  Result<std::string> swaps = ReadSmallFile("/proc/swaps");
  return swaps.ok() && swaps.value().find(dev + " ") != std::string::npos;
}

bool ZramFree(int index) {
  std::string sys = "/sys/block/zram" + std::to_string(index) + "/disksize";
  Result<std::string> size = ReadSmallFile(sys);
  return size.ok() && Trim(size.value()) == "0" &&
         !IsSwapArea("/dev/zram" + std::to_string(index));
}

// Returns the index of a zram device this run may configure.
Result<int> ClaimZram() {
  if (ZramFree(0)) return 0;
  Result<std::string> added =
      ReadSmallFile(std::string(kZramControl) + "hot_add");
  if (!added.ok()) {
    return Status::Error(
        "/dev/zram0 is in use and no zram device can be "
        "hot-added (" +
        added.status().message() + ")");
  }
  std::string id = Trim(added.value());
  Status s = RestoreLogPush(UndoKind::kWriteFile,
                            std::string(kZramControl) + "hot_remove", id);
  if (!s.ok()) return s;
  return std::atoi(id.c_str());
}

Status RunMkswap(const std::string& dev) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char* argv[] = {const_cast<char*>("mkswap"), const_cast<char*>(dev.c_str()),
                  nullptr};
  pid_t pid;
  int r = posix_spawnp(&pid, "mkswap", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0)
    return Status::Error("cannot run mkswap: " + std::string(strerror(r)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Error("mkswap " + dev + " failed");
  }
  return Status::Ok();
}

Status Swapon(const std::string& dev) {
  int flags = SWAP_FLAG_PREFER | (32767 & SWAP_FLAG_PRIO_MASK);
  if (swapon(dev.c_str(), flags) != 0) {
    return Status::Error("swapon " + dev + ": " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Status Machine::SetupZram() {
  Result<int> index = ClaimZram();
  if (!index.ok()) return index.status();
  std::string sys = "/sys/block/zram" + std::to_string(index.value()) + "/";
  std::string dev = "/dev/zram" + std::to_string(index.value());
  Status s = RestoreLogPush(UndoKind::kWriteFile, sys + "reset", "1");
  if (s.ok()) s = WriteSysfs(sys + "disksize", kDiskSize);
  if (s.ok()) s = RunMkswap(dev);
  if (s.ok()) s = RestoreLogPush(UndoKind::kSwapoff, dev);
  if (s.ok()) s = Swapon(dev);
  if (s.ok()) swap_device_ = dev;
  return s;
}

Status Machine::EnsureSwap() {
  if (has_swap()) return Status::Ok();
  if (geteuid() != 0) return Status::Error("setting up swap needs root");
  return SetupZram();
}

Status Machine::SwapoffAndOn() {
  Status s = EnsureSwap();
  if (!s.ok()) return s;
  if (swapoff(swap_device_.c_str()) != 0) {
    return Status::Error("swapoff " + swap_device_ + ": " + strerror(errno));
  }
  return Swapon(swap_device_);
}

Result<uint64_t> Machine::ReadSwapSlot(const PagemapBits& pte) const {
  Result<std::string> swaps = ReadSmallFile("/proc/swaps");
  if (!has_swap() || !swaps.ok() ||
      std::count(swaps.value().begin(), swaps.value().end(), '\n') != 2) {
    return Status::Error(
        "a swapped page can only be read natively when this run's zram "
        "device is the only swap area");
  }
  int fd = open(swap_device_.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0)
    return Status::Error("open " + swap_device_ + ": " + strerror(errno));
  void* buf = nullptr;
  if (posix_memalign(&buf, 4096, 4096) != 0) {
    close(fd);
    return Status::Error("out of memory");
  }
  ssize_t n = pread(fd, buf, 4096, static_cast<off_t>(pte.swap_offset * 4096));
  int saved = errno;
  close(fd);
  uint64_t v = 0;
  std::memcpy(&v, buf, sizeof v);
  std::free(buf);
  if (n != 4096) {
    return Status::Error("read swap slot " + std::to_string(pte.swap_offset) +
                         " of " + swap_device_ + ": " + strerror(saved));
  }
  return v;
}

uint64_t Machine::SwapSlotsUsed() const {
  if (!has_swap()) return 0;
  Result<std::string> swaps = ReadSmallFile("/proc/swaps");
  if (!swaps.ok()) return 0;
  std::istringstream in(swaps.value());
  std::string name, type;
  uint64_t size = 0, used = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    if (f >> name >> type >> size >> used && name == swap_device_) {
      return used / 4;  // KiB -> 4 KiB slots
    }
  }
  return 0;
}

}  // namespace rmaplab::native
