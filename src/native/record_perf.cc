// record_perf.cc: tracefs lookup, perf_event_open and ring-buffer reading
// (see record_perf.h).
#include "native/record_perf.h"

#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace rmaplab::record {
namespace {

// Ring buffer data pages per CPU (a power of two): 64 MiB holds about a
// million events between two drains.
constexpr size_t kRingPages = 16384;

struct TracepointSpec {
  const char* name;  // "system/event"
  EventKind kind;
  Sys sys;
  const char* fields[6];  // names of the fields read, in RawEvent::a order
};

#define SYSCALL_PAIR(n, s, ...)                                        \
  {"syscalls/sys_enter_" n, EventKind::kSysEnter, s, {__VA_ARGS__}}, { \
    "syscalls/sys_exit_" n, EventKind::kSysExit, s, { "ret" }          \
  }

const TracepointSpec kSpecs[] = {
    {"exceptions/page_fault_user",
     EventKind::kFaultUser,
     Sys::kNone,
     {"address", "error_code"}},
    {"exceptions/page_fault_kernel",
     EventKind::kFaultKernel,
     Sys::kNone,
     {"address", "error_code"}},
    {"task/task_newtask",
     EventKind::kNewTask,
     Sys::kNone,
     {"pid", "clone_flags"}},
    {"sched/sched_process_exec",
     EventKind::kExec,
     Sys::kNone,
     {"pid", "old_pid"}},
    {"sched/sched_process_exit", EventKind::kTaskExit, Sys::kNone, {"pid"}},
    SYSCALL_PAIR("mmap", Sys::kMmap, "addr", "len", "prot", "flags", "fd",
                 "off"),
    SYSCALL_PAIR("munmap", Sys::kMunmap, "addr", "len"),
    SYSCALL_PAIR("mprotect", Sys::kMprotect, "start", "len", "prot"),
    SYSCALL_PAIR("pkey_mprotect", Sys::kPkeyMprotect, "start", "len", "prot"),
    SYSCALL_PAIR("mremap", Sys::kMremap, "addr", "old_len", "new_len", "flags",
                 "new_addr"),
    SYSCALL_PAIR("madvise", Sys::kMadvise, "start", "len_in", "behavior"),
    SYSCALL_PAIR("brk", Sys::kBrk, "brk"),
    SYSCALL_PAIR("mlock", Sys::kMlock, "start", "len"),
    SYSCALL_PAIR("mlock2", Sys::kMlock2, "start", "len", "flags"),
    SYSCALL_PAIR("mlockall", Sys::kMlockall, "flags"),
    SYSCALL_PAIR("shmat", Sys::kShmat, "shmid"),
    SYSCALL_PAIR("remap_file_pages", Sys::kRemapFilePages, "start"),
    SYSCALL_PAIR("process_madvise", Sys::kProcessMadvise, "pidfd"),
};

struct FieldInfo {
  int offset;
  int size;
};
struct TracepointInfo {
  uint64_t id = 0;
  std::map<std::string, FieldInfo> fields;
};

// Reads DIR/events/NAME/{id,format} for every spec, as text lines
// "NAME ID FIELD:OFFSET:SIZE ...".
std::string ReadTracefsText(const std::string& dir) {
  std::string text;
  for (const TracepointSpec& s : kSpecs) {
    std::string base = dir + "/events/" + s.name;
    std::ifstream id_in(base + "/id"), fmt(base + "/format");
    uint64_t id = 0;
    if (!(id_in >> id)) continue;
    text += std::string(s.name) + " " + std::to_string(id);
    std::string line;
    while (std::getline(fmt, line)) {
      size_t f = line.find("field:"), o = line.find("offset:"),
             z = line.find("size:");
      if (f == std::string::npos || o == std::string::npos ||
          z == std::string::npos)
        continue;
      std::string decl = line.substr(f + 6, line.find(';', f) - f - 6);
      size_t sp = decl.find_last_of(" *");
      std::string name = decl.substr(sp + 1);
      if (size_t br = name.find('['); br != std::string::npos) name.resize(br);
      text += " " + name + ":" +
              std::to_string(std::atoi(line.c_str() + o + 7)) + ":" +
              std::to_string(std::atoi(line.c_str() + z + 5));
    }
    text += "\n";
  }
  return text;
}

// tracefs is not mounted here: mount it in a child's private mount
// namespace and read it there.
Result<std::string> ReadTracefsPrivately() {
  int p[2];
  if (pipe(p) != 0)
    return Status::Error(std::string("pipe: ") + strerror(errno));
  pid_t child = fork();
  if (child < 0) return Status::Error(std::string("fork: ") + strerror(errno));
  if (child == 0) {
    close(p[0]);
    char dir[] = "/tmp/rmaplab-tracefs-XXXXXX";
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mkdtemp(dir) == nullptr ||
        mount("nodev", dir, "tracefs", 0, nullptr) != 0)
      _exit(1);
    std::string text = ReadTracefsText(dir);
    umount(dir);
    rmdir(dir);
    for (size_t off = 0; off < text.size();) {
      ssize_t w = write(p[1], text.data() + off, text.size() - off);
      if (w <= 0) _exit(1);
      off += w;
    }
    _exit(0);
  }
  close(p[1]);
  std::string text;
  char buf[4096];
  for (ssize_t r; (r = read(p[0], buf, sizeof buf)) > 0;) text.append(buf, r);
  close(p[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty())
    return Status::Error(
        "cannot mount tracefs to read tracepoint ids (needs root and a kernel "
        "with CONFIG_TRACING)");
  return text;
}

Result<std::map<std::string, TracepointInfo>> ReadTracepoints() {
  std::string text;
  struct stat st;
  if (stat("/sys/kernel/tracing/events", &st) == 0) {
    text = ReadTracefsText("/sys/kernel/tracing");
  } else {
    Result<std::string> r = ReadTracefsPrivately();
    if (!r.ok()) return r.status();
    text = r.value();
  }
  std::map<std::string, TracepointInfo> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, field;
    TracepointInfo info;
    ls >> name >> info.id;
    while (ls >> field) {
      size_t c1 = field.find(':'), c2 = field.rfind(':');
      info.fields[field.substr(0, c1)] = {std::atoi(field.c_str() + c1 + 1),
                                          std::atoi(field.c_str() + c2 + 1)};
    }
    out[name] = info;
  }
  return out;
}

long PerfEventOpen(perf_event_attr* attr, pid_t pid, int cpu, int group) {
  return syscall(SYS_perf_event_open, attr, pid, cpu, group,
                 PERF_FLAG_FD_CLOEXEC);
}

std::vector<int> OnlineCpus() {
  std::vector<int> cpus;
  long n = sysconf(_SC_NPROCESSORS_CONF);
  for (int c = 0; c < n; ++c) {
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) +
                    "/online");
    int on = 1;
    if (f) f >> on;  // cpu0 often has no `online` file: always online
    if (on) cpus.push_back(c);
  }
  return cpus;
}

}  // namespace

void SortEvents(std::vector<RawEvent>* events) {
  std::stable_sort(events->begin(), events->end(),
                   [](const RawEvent& x, const RawEvent& y) {
                     if (x.time != y.time) return x.time < y.time;
                     if (x.cpu != y.cpu) return x.cpu < y.cpu;
                     return x.seq < y.seq;
                   });
}

PerfRecorder::~PerfRecorder() {
  for (Buffer& b : buffers_)
    if (b.base) munmap(b.base, b.size + sysconf(_SC_PAGESIZE));
  for (int fd : fds_) close(fd);
}

Result<std::unique_ptr<PerfRecorder>> PerfRecorder::Open(pid_t pid) {
  Result<std::map<std::string, TracepointInfo>> tps = ReadTracepoints();
  if (!tps.ok()) return tps.status();
  std::unique_ptr<PerfRecorder> rec(new PerfRecorder());
  const size_t page = sysconf(_SC_PAGESIZE);
  for (int cpu : OnlineCpus()) {
    int leader = -1;
    for (const TracepointSpec& s : kSpecs) {
      auto it = tps.value().find(s.name);
      if (it == tps.value().end()) {
        if (s.sys == Sys::kNone || s.sys == Sys::kMmap || s.sys == Sys::kMunmap)
          return Status::Error(std::string("this kernel has no tracepoint ") +
                               s.name);
        continue;  // an optional system call this kernel lacks
      }
      Source src{s.kind, s.sys, {-1, -1, -1, -1, -1, -1}};
      for (int i = 0; i < 6 && s.fields[i]; ++i) {
        auto f = it->second.fields.find(s.fields[i]);
        if (f == it->second.fields.end())
          return Status::Error(std::string("tracepoint ") + s.name +
                               " has no field " + s.fields[i]);
        src.field_a[i] = f->second.offset | (f->second.size << 16);
      }
      perf_event_attr attr{};
      attr.size = sizeof attr;
      attr.type = PERF_TYPE_TRACEPOINT;
      attr.config = it->second.id;
      attr.sample_period = 1;
      attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID |
                         PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
      attr.disabled = 1;
      attr.enable_on_exec = 1;
      attr.inherit = 1;
      attr.use_clockid = 1;
      attr.clockid = CLOCK_MONOTONIC;
      attr.wakeup_events = 1;
      attr.sample_id_all = 1;
      long fd = PerfEventOpen(&attr, pid, cpu, -1);
      if (fd < 0)
        return Status::Error(std::string("perf_event_open(") + s.name +
                             ", cpu " + std::to_string(cpu) +
                             "): " + strerror(errno));
      rec->fds_.push_back(static_cast<int>(fd));
      uint64_t id = 0;
      if (ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0)
        return Status::Error(std::string("PERF_EVENT_IOC_ID: ") +
                             strerror(errno));
      rec->ids_.push_back({id, src});
      if (leader < 0) {
        leader = static_cast<int>(fd);
        void* base = mmap(nullptr, (kRingPages + 1) * page,
                          PROT_READ | PROT_WRITE, MAP_SHARED, leader, 0);
        if (base == MAP_FAILED)
          return Status::Error(std::string("mmap of the perf ring buffer: ") +
                               strerror(errno));
        rec->leaders_.push_back(leader);
        rec->buffers_.push_back({base, kRingPages * page, cpu, 0});
      } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, leader) != 0) {
        return Status::Error(std::string("PERF_EVENT_IOC_SET_OUTPUT: ") +
                             strerror(errno));
      }
    }
  }
  std::sort(rec->ids_.begin(), rec->ids_.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  return rec;
}

Status PerfRecorder::Drain(std::vector<RawEvent>* out) {
  for (Buffer& b : buffers_) {
    Status s = DrainBuffer(b, out);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status PerfRecorder::DrainBuffer(Buffer& b, std::vector<RawEvent>* out) {
  auto* meta = static_cast<perf_event_mmap_page*>(b.base);
  auto* data = static_cast<unsigned char*>(b.base) + sysconf(_SC_PAGESIZE);
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  std::vector<unsigned char> rec;
  Status status = Status::Ok();
  while (tail < head) {
    perf_event_header h;
    for (size_t i = 0; i < sizeof h; ++i)
      reinterpret_cast<unsigned char*>(&h)[i] = data[(tail + i) % b.size];
    if (h.size < sizeof h) {
      status = Status::Error("corrupt perf ring buffer record");
      break;
    }
    rec.resize(h.size);
    for (size_t i = 0; i < h.size; ++i) rec[i] = data[(tail + i) % b.size];
    tail += h.size;
    if (h.type == PERF_RECORD_LOST || h.type == PERF_RECORD_LOST_SAMPLES) {
      uint64_t lost = 0;
      std::memcpy(&lost,
                  rec.data() + sizeof h + (h.type == PERF_RECORD_LOST ? 8 : 0),
                  8);
      status = Status::Error("the kernel lost " + std::to_string(lost) +
                             " events on cpu " + std::to_string(b.cpu) +
                             " (ring buffer full)");
      continue;
    }
    if (h.type != PERF_RECORD_SAMPLE) continue;
    RawEvent ev;
    if (Decode(rec.data() + sizeof h, h.size - sizeof h, b, &ev))
      out->push_back(ev);
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  return status;
}

// A sample: u64 id; u32 pid, tid; u64 time; u32 raw size; raw data.
bool PerfRecorder::Decode(const unsigned char* p, size_t len, Buffer& b,
                          RawEvent* ev) {
  if (len < 28) return false;
  uint64_t id;
  uint32_t raw_size;
  std::memcpy(&id, p, 8);
  std::memcpy(&ev->pid, p + 8, 4);
  std::memcpy(&ev->tid, p + 12, 4);
  std::memcpy(&ev->time, p + 16, 8);
  std::memcpy(&raw_size, p + 24, 4);
  const unsigned char* raw = p + 28;
  if (28 + static_cast<size_t>(raw_size) > len) return false;
  auto it =
      std::lower_bound(ids_.begin(), ids_.end(), id,
                       [](const auto& x, uint64_t v) { return x.first < v; });
  if (it == ids_.end() || it->first != id) return false;
  const Source& src = it->second;
  ev->kind = src.kind;
  ev->sys = src.sys;
  ev->cpu = static_cast<uint16_t>(b.cpu);
  ev->seq = b.seq++;
  for (int i = 0; i < 6; ++i) {
    if (src.field_a[i] < 0) continue;
    int off = src.field_a[i] & 0xffff, size = src.field_a[i] >> 16;
    if (off + size > static_cast<int>(raw_size)) return false;
    int64_t v = 0;
    if (size == 8)
      std::memcpy(&v, raw + off, 8);
    else if (size == 4) {
      int32_t x;
      std::memcpy(&x, raw + off, 4);
      v = x;
    } else if (size == 2) {
      int16_t x;
      std::memcpy(&x, raw + off, 2);
      v = x;
    } else if (size == 1)
      v = raw[off];
    ev->a[i] = static_cast<uint64_t>(v);
  }
  if (ev->kind == EventKind::kSysExit) ev->ret = static_cast<int64_t>(ev->a[0]);
  return true;
}

}  // namespace rmaplab::record
