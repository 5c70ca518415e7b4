// proc.cc: /proc readers (see proc.h).
#include "native/proc.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "rmaplab/trace.h"

namespace rmaplab::native {
namespace {

std::string ProcPath(pid_t pid, const char* leaf) {
  return "/proc/" + std::to_string(pid) + "/" + leaf;
}

Status ErrnoStatus(const std::string& what) {
  return Status::Error(what + ": " + std::strerror(errno));
}

// pread of exactly `size` bytes, or an error naming `path`.
Status PreadAll(const std::string& path, void* buf, size_t size, off_t off) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  ssize_t n = pread(fd, buf, size, off);
  int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0) return ErrnoStatus("read " + path);
  if (static_cast<size_t>(n) != size) {
    return Status::Error("short read from " + path);
  }
  return Status::Ok();
}

bool ParseMapsLine(const std::string& line, ProcVma* vma) {
  char perms[5] = {};
  unsigned dev_major, dev_minor;
  unsigned long long start, end, offset, inode;
  if (std::sscanf(line.c_str(), "%llx-%llx %4s %llx %x:%x %llu", &start, &end,
                  perms, &offset, &dev_major, &dev_minor, &inode) != 7) {
    return false;
  }
  vma->start = start;
  vma->end = end;
  vma->prot = (perms[0] == 'r' ? kProtRead : 0) |
              (perms[1] == 'w' ? kProtWrite : 0) |
              (perms[2] == 'x' ? kProtExec : 0);
  vma->shared = perms[3] == 's';
  vma->offset = offset;
  vma->inode = inode;
  return true;
}

}  // namespace

Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, n);
  int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0) return ErrnoStatus("read " + path);
  return text;
}

Result<std::vector<ProcVma>> ReadProcMaps(pid_t pid) {
  Result<std::string> text = ReadSmallFile(ProcPath(pid, "maps"));
  if (!text.ok()) return text.status();
  std::vector<ProcVma> vmas;
  std::istringstream in(text.value());
  std::string line;
  while (std::getline(in, line)) {
    ProcVma vma;
    if (!ParseMapsLine(line, &vma)) {
      return Status::Error("unexpected line in /proc/" + std::to_string(pid) +
                           "/maps: " + line);
    }
    vmas.push_back(vma);
  }
  return vmas;
}

PagemapBits DecodePagemap(uint64_t raw) {
  constexpr uint64_t kLow55 = (uint64_t{1} << 55) - 1;
  PagemapBits b;
  b.present = (raw >> 63) & 1;
  b.swapped = (raw >> 62) & 1;
  b.exclusive = (raw >> 56) & 1;
  if (b.present) b.pfn = raw & kLow55;
  if (b.swapped) {
    b.swap_type = raw & 0x1f;
    b.swap_offset = (raw & kLow55) >> 5;
  }
  return b;
}

Result<std::vector<PagemapBits>> ReadPagemap(pid_t pid, uint64_t addr,
                                             uint64_t pages) {
  std::vector<uint64_t> raw(pages);
  Status s = PreadAll(ProcPath(pid, "pagemap"), raw.data(), pages * 8,
                      static_cast<off_t>((addr >> kPageShift) * 8));
  if (!s.ok()) return s;
  std::vector<PagemapBits> out;
  out.reserve(pages);
  for (uint64_t r : raw) out.push_back(DecodePagemap(r));
  return out;
}

Result<uint64_t> ReadKpageflags(uint64_t pfn) {
  uint64_t flags = 0;
  Status s = PreadAll("/proc/kpageflags", &flags, sizeof flags,
                      static_cast<off_t>(pfn * 8));
  if (!s.ok()) return s;
  return flags;
}

Result<uint64_t> ReadMemU64(pid_t pid, uint64_t addr) {
  uint64_t v = 0;
  Status s =
      PreadAll(ProcPath(pid, "mem"), &v, sizeof v, static_cast<off_t>(addr));
  if (!s.ok()) return s;
  return v;
}

}  // namespace rmaplab::native

namespace rmaplab::native {
namespace {

// Whether the object page at `off` of `fd` is in memory (page cache or swap
// cache), asked through a fresh mapping that is never touched.
Result<bool> ObjectPageResident(int fd, off_t off) {
  void* p = mmap(nullptr, kPageSize, PROT_READ, MAP_SHARED, fd, off);
  if (p == MAP_FAILED) return ErrnoStatus("mmap of a shmem object");
  unsigned char vec = 0;
  int r = mincore(p, kPageSize, &vec);
  int saved = errno;
  munmap(p, kPageSize);
  errno = saved;
  if (r != 0) return ErrnoStatus("mincore on a shmem object");
  return (vec & 1) != 0;
}

Result<uint64_t> ReadObjectPage(int fd, off_t off) {
  off_t data = lseek(fd, off, SEEK_DATA);
  if ((data < 0 && errno == ENXIO) || data > off) return uint64_t{0};  // hole
  if (data < 0) return ErrnoStatus("lseek SEEK_DATA on a shmem object");
  Result<bool> resident = ObjectPageResident(fd, off);
  if (!resident.ok()) return resident.status();
  if (!resident.value()) {
    return Status::Error(
        "cannot read a swapped-out shmem page natively without swapping it "
        "in");
  }
  uint64_t v = 0;
  if (pread(fd, &v, sizeof v, off) != sizeof v) {
    return ErrnoStatus("pread of a shmem object");
  }
  return v;
}

}  // namespace

Result<uint64_t> ReadShmemValue(pid_t pid, const ProcVma& vma, uint64_t addr) {
  char name[64];
  std::snprintf(name, sizeof name, "map_files/%" PRIx64 "-%" PRIx64, vma.start,
                vma.end);
  std::string path = ProcPath(pid, name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(
        "cannot look into the shmem object behind a shared "
        "mapping without faulting (open " +
        path + ")");
  }
  Result<uint64_t> v =
      ReadObjectPage(fd, static_cast<off_t>(vma.offset + addr - vma.start));
  close(fd);
  return v;
}

}  // namespace rmaplab::native
