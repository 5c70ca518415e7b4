// record_translate.cc: events and snapshots into trace text (see
// record_translate.h).
#include "native/record_translate.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "rmaplab/output.h"  // ProtText
#include "rmaplab/trace.h"

namespace rmaplab::record {
namespace {

constexpr uint64_t kClassShift = 40;  // relocation classes of 1 TiB
constexpr uint64_t kUserTop = 0x800000000000ULL;
constexpr uint64_t kCloneVm = 0x100, kCloneThread = 0x10000;
constexpr uint64_t kMapShared = 0x1, kMapFixed = 0x10, kMapAnon = 0x20,
                   kMapGrowsdown = 0x100, kMapLocked = 0x2000,
                   kMapPopulate = 0x8000;

uint64_t PageDown(uint64_t a) { return a & ~(kPageSize - 1); }
uint64_t PageUp(uint64_t a) { return (a + kPageSize - 1) & ~(kPageSize - 1); }
bool IsErr(int64_t ret) { return ret < 0 && ret > -4096; }

std::string Hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

enum class PieceKind { kAnon, kShmAnon, kFilePrivate, kOther };

// A run of one actor's address space with uniform attributes.
struct Piece {
  uint64_t start = 0, end = 0;  // [start, end)
  int prot = 0;
  PieceKind kind = PieceKind::kOther;
  uint32_t region = 0;  // kFilePrivate: which mmap made it
  bool stack = false;   // grows down on a fault below it
  bool dontfork = false;
};

struct Actor {
  std::map<uint64_t, Piece> pieces;       // by start
  std::set<int> tids;                     // live tasks using this mm
  uint64_t heap_start = 0, heap_end = 0;  // brk heap [start, end), page aligned
  int64_t truth_kb = -1;                  // last exit snapshot
};

class Translator {
 public:
  Translator(int pass, const TranslateOptions& opts)
      : pass_(pass), opts_(opts) {}

  // Pass 2 gets what pass 1 learnt.
  void Learn(const Translator& first) {
    written_ = first.written_;
    paths_ = first.paths_;
    BuildRelocation(first.classes_);
  }
  Status relocation_status() const { return reloc_status_; }

  void Run(const std::vector<RawEvent>& events,
           const std::vector<Snapshot>& snaps) {
    actors_[1];
    for (const RawEvent& ev : events) {
      switch (ev.kind) {
        case EventKind::kSysEnter:
          pending_[ev.tid] = ev;
          break;
        case EventKind::kSysExit:
          SysExit(ev);
          break;
        case EventKind::kFaultUser:
        case EventKind::kFaultKernel:
          Fault(ev);
          break;
        case EventKind::kNewTask:
          NewTask(ev);
          break;
        case EventKind::kExec:
          Exec(ev);
          break;
        case EventKind::kTaskExit:
          TaskExit(static_cast<int>(ev.a[0]));
          break;
        case EventKind::kSnapshot:
          Snap(snaps[ev.snapshot]);
          break;
      }
    }
  }

  std::string body_;
  std::map<std::string, uint64_t> skipped_;  // reason -> count
  std::vector<std::string> reloc_notes_;
  uint64_t ops_ = 0;

 private:
  // ---- output ----
  void Line(uint32_t actor, const std::string& s) {
    ++ops_;
    ++line_;
    if (pass_ == 2) body_ += std::to_string(actor) + " " + s + "\n";
  }
  void Comment(const std::string& s) {
    ++line_;
    if (pass_ == 2) body_ += "# " + s + "\n";
  }
  void Skip(const std::string& why) { ++skipped_[why]; }
  uint64_t R(uint64_t a) const {
    auto it = slot_.find(a >> kClassShift);
    uint64_t slot = it == slot_.end() ? 1 : it->second;
    return (slot << kClassShift) | (a & ((1ULL << kClassShift) - 1));
  }
  std::string Range(uint64_t s, uint64_t e) const {
    return Hex(R(s)) + " " + Hex(e - s);
  }

  void BuildRelocation(const std::set<uint64_t>& classes) {
    uint64_t next = 1;  // slot 1 = [1 TiB, 2 TiB): inside the native window
    uint64_t prev = UINT64_MAX - 1;
    for (uint64_t c : classes) {
      if (c != prev + 1 && prev != UINT64_MAX - 1) ++next;  // keep runs apart
      slot_[c] = next;
      char b[160];
      std::snprintf(b, sizeof b,
                    "relocation: [0x%" PRIx64 ", 0x%" PRIx64 ") -> 0x%" PRIx64,
                    c << kClassShift, (c + 1) << kClassShift,
                    next << kClassShift);
      reloc_notes_.push_back(b);
      prev = c;
      ++next;
    }
    if (next > 32)
      reloc_status_ = Status::Error(
          "the program's memory spans more 1 TiB address classes than the "
          "native "
          "window [0x100000000, 0x200000000000) holds");
  }

  // ---- the tracker ----
  bool Emitted(const Piece& p) const {
    return p.kind == PieceKind::kAnon || p.kind == PieceKind::kShmAnon ||
           (p.kind == PieceKind::kFilePrivate && written_.count(p.region));
  }
  uint32_t ActorOf(int tid) {
    auto it = tid_actor_.find(tid);
    if (it != tid_actor_.end()) return it->second;
    tid_actor_[tid] = 1;  // the command itself
    actors_[1].tids.insert(tid);
    return 1;
  }
  // Splits the piece containing `a` so that a piece starts at `a`.
  void SplitAt(Actor& act, uint64_t a) {
    auto it = act.pieces.upper_bound(a);
    if (it == act.pieces.begin()) return;
    --it;
    Piece& p = it->second;
    if (p.start >= a || p.end <= a) return;
    Piece tail = p;
    tail.start = a;
    p.end = a;
    act.pieces[a] = tail;
  }
  // The pieces overlapping [s, e), split at s and e.
  std::vector<Piece*> Overlap(Actor& act, uint64_t s, uint64_t e) {
    SplitAt(act, s);
    SplitAt(act, e);
    std::vector<Piece*> out;
    for (auto it = act.pieces.lower_bound(s);
         it != act.pieces.end() && it->first < e; ++it)
      out.push_back(&it->second);
    return out;
  }
  // Runs of adjacent emitted pieces in [s, e) for which pred holds.
  template <typename Pred>
  std::vector<std::pair<uint64_t, uint64_t>> Runs(Actor& act, uint64_t s,
                                                  uint64_t e, Pred pred) {
    std::vector<std::pair<uint64_t, uint64_t>> runs;
    for (Piece* p : Overlap(act, s, e)) {
      if (!Emitted(*p) || !pred(*p)) continue;
      if (!runs.empty() && runs.back().second == p->start)
        runs.back().second = p->end;
      else
        runs.push_back({p->start, p->end});
    }
    return runs;
  }
  void Insert(Actor& act, const Piece& p) {
    act.pieces[p.start] = p;
    if (p.kind != PieceKind::kOther)
      for (uint64_t c = p.start >> kClassShift; c <= (p.end - 1) >> kClassShift;
           ++c)
        classes_.insert(c);
  }
  void Unmap(uint32_t id, Actor& act, uint64_t s, uint64_t e) {
    for (auto [rs, re] : Runs(act, s, e, [](const Piece&) { return true; }))
      Line(id, "munmap " + Range(rs, re));
    auto it = act.pieces.lower_bound(s);
    while (it != act.pieces.end() && it->first < e) it = act.pieces.erase(it);
  }
  // A new emitted mapping, protection `prot`, with `pages` made resident.
  void MapNew(uint32_t id, Actor& act, const Piece& p,
              const std::string& note) {
    Insert(act, p);
    if (!Emitted(p)) return;
    if (!note.empty()) Comment(note);
    Line(id, "mmap " + Range(p.start, p.end) + " " + ProtText(p.prot) +
                 (p.kind == PieceKind::kShmAnon ? " shared" : ""));
  }
  // MAP_POPULATE, mlock, MADV_POPULATE_*: fault every page in as GUP does
  // (a write fault for a writable private mapping).
  void Populate(uint32_t id, Actor& act, uint64_t s, uint64_t e,
                bool force_write, bool force_read) {
    for (Piece* p : Overlap(act, s, e)) {
      if (!Emitted(*p)) continue;
      bool write = force_write || (!force_read && (p->prot & kProtWrite) &&
                                   p->kind != PieceKind::kShmAnon);
      int need = write ? kProtWrite : kProtRead | kProtWrite;
      if (!(p->prot & need)) continue;
      Line(id,
           std::string(write ? "write " : "read ") + Range(p->start, p->end));
    }
  }

  // ---- events ----
  void SysExit(const RawEvent& ev) {
    auto it = pending_.find(ev.tid);
    if (it == pending_.end() || it->second.sys != ev.sys) return;
    RawEvent in = it->second;
    pending_.erase(it);
    if (IsErr(ev.ret) && !(ev.sys == Sys::kMadvise && ev.ret == -12)) return;
    uint32_t id = ActorOf(ev.tid);
    Actor& act = actors_[id];
    const uint64_t* a = in.a;
    switch (ev.sys) {
      case Sys::kMmap:
        return Mmap(id, act, a, static_cast<uint64_t>(ev.ret));
      case Sys::kMunmap:
        return Unmap(id, act, PageDown(a[0]), PageUp(a[0] + a[1]));
      case Sys::kMprotect:
      case Sys::kPkeyMprotect:
        return Mprotect(id, act, a[0], PageUp(a[0] + a[1]), a[2] & 7);
      case Sys::kMremap:
        return Mremap(id, act, a, static_cast<uint64_t>(ev.ret));
      case Sys::kMadvise:
        return Madvise(id, act, a[0], PageUp(a[0] + a[1]), a[2]);
      case Sys::kBrk:
        return Brk(id, act, static_cast<uint64_t>(ev.ret));
      case Sys::kMlock:
        return Populate(id, act, PageDown(a[0]), PageUp(a[0] + a[1]), false,
                        false);
      case Sys::kMlock2:
        if (!(a[2] & 1))
          Populate(id, act, PageDown(a[0]), PageUp(a[0] + a[1]), false, false);
        return;
      case Sys::kMlockall:
        if ((a[0] & 1) && !(a[0] & 4))
          Populate(id, act, 0, kUserTop, false, false);
        if (a[0] & 2)
          Skip(
              "mlockall(MCL_FUTURE): later mappings are not populated in the "
              "trace");
        return;
      case Sys::kShmat:
        return Skip("shmat (System V shared memory is not followed)");
      case Sys::kRemapFilePages:
        return Skip("remap_file_pages (not followed)");
      case Sys::kProcessMadvise:
        return Skip("process_madvise (not followed)");
      case Sys::kNone:
        return;
    }
  }

  void Mmap(uint32_t id, Actor& act, const uint64_t* a, uint64_t addr) {
    uint64_t len = PageUp(a[1]), flags = a[3];
    if (len == 0) return;
    Unmap(id, act, addr, addr + len);  // what MAP_FIXED replaced
    Piece p;
    p.start = addr;
    p.end = addr + len;
    p.prot = static_cast<int>(a[2] & 7);
    p.stack = flags & kMapGrowsdown;
    bool shared = (flags & 3) == kMapShared || (flags & 3) == 3;
    if (flags & kMapAnon) {
      p.kind = shared ? PieceKind::kShmAnon : PieceKind::kAnon;
    } else if (!shared) {
      p.kind = PieceKind::kFilePrivate;
      p.region = next_region_++;
    }
    MapNew(id, act, p, FileNote(p, a[5]));
    if (flags & (kMapPopulate | kMapLocked))
      Populate(id, act, p.start, p.end, false, false);
  }
  std::string FileNote(const Piece& p, uint64_t offset) {
    if (p.kind != PieceKind::kFilePrivate) return "";
    auto it = paths_.find(p.region);
    return "private file mapping of " +
           (it == paths_.end() ? std::string("(file unknown)") : it->second) +
           " at offset " + Hex(offset) +
           ", written, so recorded as anonymous memory";
  }

  void Mprotect(uint32_t id, Actor& act, uint64_t s, uint64_t e, int prot) {
    s = PageDown(s);
    for (auto [rs, re] : Runs(act, s, e, [](const Piece&) { return true; }))
      Line(id, "mprotect " + Range(rs, re) + " " + ProtText(prot));
    for (Piece* p : Overlap(act, s, e)) p->prot = prot;
  }

  void Mremap(uint32_t id, Actor& act, const uint64_t* a, uint64_t to) {
    uint64_t old = PageDown(a[0]), old_len = PageUp(a[1]),
             new_len = PageUp(a[2]);
    std::vector<Piece*> src = Overlap(act, old, old + old_len);
    if (old_len == 0 || src.empty())
      return Skip("mremap of a range the recorder does not know");
    if (a[3] & 4)
      Skip("mremap MREMAP_DONTUNMAP (the old range is shown unmapped)");
    bool emitted = Emitted(*src.front());
    Piece last = *src.back();
    if (emitted)
      Line(id, "mremap " + Range(old, old + old_len) + " " + Hex(new_len) +
                   (to != old ? " " + Hex(R(to)) : ""));
    std::vector<Piece> moved;
    for (Piece* p : src) moved.push_back(*p);
    auto it = act.pieces.lower_bound(old);
    while (it != act.pieces.end() && it->first < old + old_len)
      it = act.pieces.erase(it);
    if (to != old) {  // the target is replaced (MREMAP_FIXED) or was free
      if (emitted) {  // the trace's mremap unmaps the target itself
        Overlap(act, to, to + new_len);
        auto t = act.pieces.lower_bound(to);
        while (t != act.pieces.end() && t->first < to + new_len)
          t = act.pieces.erase(t);
      } else {
        Unmap(id, act, to, to + new_len);
      }
    }
    for (Piece p : moved) {
      p.start = p.start - old + to;
      p.end = std::min(p.end - old + to, to + new_len);
      if (p.start < p.end) Insert(act, p);
    }
    if (new_len > old_len) {
      last.start = to + old_len;
      last.end = to + new_len;
      Insert(act, last);
    }
  }

  void Madvise(uint32_t id, Actor& act, uint64_t s, uint64_t e,
               uint64_t advice) {
    static const std::map<uint64_t, const char*> kPass = {
        {4, "dontneed"},     {24, "dontneed"},   {12, "mergeable"},
        {13, "unmergeable"}, {10, "dontfork"},   {11, "dofork"},
        {18, "wipeonfork"},  {19, "keeponfork"}, {20, "cold"},
        {21, "pageout"}};
    s = PageDown(s);
    if (advice == 22 || advice == 23)
      return Populate(id, act, s, e, advice == 23, advice == 22);
    if (advice == 8)
      return Skip(
          "madvise(MADV_FREE): pages kept (no memory pressure assumed)");
    if (advice == 14 || advice == 15 || advice == 25)
      return Skip(
          "madvise hugepage/nohugepage/collapse (THP ops are not in the model "
          "yet)");
    if (advice == 9) return Skip("madvise(MADV_REMOVE) (not followed)");
    auto it = kPass.find(advice);
    if (it == kPass.end()) return;  // no effect on anonymous memory
    bool fork_advice = advice == 18 || advice == 19;
    for (auto [rs, re] : Runs(act, s, e, [&](const Piece& p) {
           return !fork_advice || p.kind != PieceKind::kShmAnon;
         }))
      Line(id, "madvise " + Range(rs, re) + " " + it->second);
    if (advice == 10 || advice == 11)
      for (Piece* p : Overlap(act, s, e)) p->dontfork = advice == 10;
  }

  void Brk(uint32_t id, Actor& act, uint64_t brk) {
    if (act.heap_start == 0) act.heap_start = act.heap_end = PageUp(brk);
    uint64_t end = PageUp(brk);
    if (end < act.heap_start) return;
    if (end > act.heap_end) {
      Piece p;
      p.start = act.heap_end;
      p.end = end;
      p.prot = kProtRead | kProtWrite;
      p.kind = PieceKind::kAnon;
      MapNew(id, act, p, "");
    } else if (end < act.heap_end) {
      Unmap(id, act, end, act.heap_end);
    }
    act.heap_end = end;
  }

  Piece* FindPiece(Actor& act, uint64_t a) {
    auto it = act.pieces.upper_bound(a);
    if (it == act.pieces.begin()) return nullptr;
    --it;
    return it->second.end > a ? &it->second : nullptr;
  }

  void Fault(const RawEvent& ev) {
    uint64_t page = PageDown(ev.a[0]);
    if (ev.a[0] >= kUserTop) return;
    bool write = ev.a[1] & 2;
    uint32_t id = ActorOf(ev.tid);
    Actor& act = actors_[id];
    Piece* p = FindPiece(act, page);
    if (!p) p = GrowStack(id, act, page);
    if (!p) {
      if (pass_ == 2 && std::getenv("RMAPLAB_RECORD_DEBUG"))
        std::fprintf(stderr,
                     "fault outside: tid %d addr %" PRIx64 " err %" PRIx64
                     " kind %d\n",
                     ev.tid, ev.a[0], ev.a[1], static_cast<int>(ev.kind));
      return Skip(
          ev.kind == EventKind::kFaultUser
              ? "user faults outside every mapping the recorder knows (SIGSEGV)"
              : "kernel-mode faults outside the trace's mappings (in execve, "
                "before the exec snapshot that holds their pages, or -EFAULT)");
    }
    if (p->kind == PieceKind::kFilePrivate && write && (p->prot & kProtWrite))
      written_.insert(p->region);
    if (!Emitted(*p)) return;
    int need = write ? kProtWrite : kProtRead | kProtWrite;
    if (!(p->prot & need))
      return Skip("faults the protection refuses (SIGSEGV)");
    Line(id, std::string(write ? "write " : "read ") + Hex(R(page)));
  }
  // expand_stack(): a fault just below a stack vma grows it.
  Piece* GrowStack(uint32_t id, Actor& act, uint64_t page) {
    auto it = act.pieces.upper_bound(page);
    if (it == act.pieces.end() || !it->second.stack) return nullptr;
    if (it->first - page > (256ULL << 20)) return nullptr;
    Piece p = it->second;
    p.end = p.start;
    p.start = page;
    MapNew(id, act, p, "");
    return FindPiece(act, page);
  }

  void NewTask(const RawEvent& ev) {
    int child = static_cast<int>(ev.a[0]);
    uint64_t flags = ev.a[1];
    uint32_t parent = ActorOf(ev.tid);
    if (flags & kCloneVm) {
      tid_actor_[child] = parent;
      actors_[parent].tids.insert(child);
      if (!(flags & kCloneThread))
        borrowed_.insert(child);  // vfork, posix_spawn
      return;
    }
    uint32_t id = next_actor_++;
    Line(parent, "fork " + std::to_string(id));
    Actor& a = actors_[id];
    const Actor& from = actors_[parent];
    for (const auto& [s, p] : from.pieces)
      if (!p.dontfork) a.pieces[s] = p;
    a.heap_start = from.heap_start;
    a.heap_end = from.heap_end;
    a.tids.insert(child);
    tid_actor_[child] = id;
  }

  void Exec(const RawEvent& ev) {
    int tid = static_cast<int>(ev.a[0]), old = static_cast<int>(ev.a[1]);
    uint32_t id = ActorOf(old);
    pending_.erase(old);
    if (borrowed_.count(old)) {  // a vfork child gets its own mm now
      borrowed_.erase(old);
      actors_[id].tids.erase(old);
      uint32_t child = next_actor_++;
      Line(id, "fork " + std::to_string(child));
      id = child;
    }
    tid_actor_.erase(old);
    tid_actor_[tid] = id;
    Actor& act = actors_[id];
    act.tids.insert(tid);
    if (id == 1 && !root_exec_seen_) {
      root_exec_seen_ = true;  // trace pid 1 starts empty: nothing to tear down
    } else {
      Line(id, "exec");
    }
    act.pieces.clear();
    act.heap_start = act.heap_end = 0;
  }

  void TaskExit(int tid) {
    auto it = tid_actor_.find(tid);
    if (it == tid_actor_.end()) return;
    uint32_t id = it->second;
    tid_actor_.erase(it);
    borrowed_.erase(tid);
    pending_.erase(tid);
    Actor& act = actors_[id];
    act.tids.erase(tid);
    if (!act.tids.empty()) return;
    if (opts_.truth && act.truth_kb >= 0) Truth(id, act);
    Line(id, "exit");
    actors_.erase(id);
  }
  void Truth(uint32_t id, Actor& act) {
    std::string lines;
    for (auto [rs, re] : Runs(act, 0, kUserTop, [](const Piece& p) {
           return p.kind != PieceKind::kShmAnon;
         })) {
      Line(id, "pagemap " + Range(rs, re));
      if (!lines.empty()) lines += ',';
      lines += std::to_string(line_);
    }
    Comment("truth pid=" + std::to_string(id) + " anon_pages=" +
            std::to_string(act.truth_kb / 4) + " pagemap_lines=" + lines);
  }

  void Snap(const Snapshot& s) {
    auto t = tid_actor_.find(s.tid);
    uint32_t id = t == tid_actor_.end() ? ActorOf(s.tid) : t->second;
    Actor& act = actors_[id];
    if (!s.at_exec) {
      act.truth_kb = s.anon_kb;
      for (const SnapVma& v : s.vmas)
        if (Piece* p = FindPiece(act, v.start);
            p && p->kind == PieceKind::kFilePrivate)
          paths_.try_emplace(p->region, v.path);
      return;
    }
    act.heap_start = act.heap_end = PageUp(s.start_brk);
    for (const SnapVma& v : s.vmas) InitialVma(id, act, v);
  }
  // A vma execve built, with its resident anonymous pages.
  void InitialVma(uint32_t id, Actor& act, const SnapVma& v) {
    if (v.end > kUserTop) return;  // [vsyscall]
    Piece p;
    p.start = v.start;
    p.end = v.end;
    p.prot = v.prot;
    p.stack = v.path == "[stack]";
    bool special =
        v.path == "[vvar]" || v.path == "[vdso]" || v.path == "[vvar_vclock]";
    bool anon = !special && (v.path.empty() || v.path[0] == '[');
    if (special) {
      p.kind = PieceKind::kOther;
    } else if (anon) {
      p.kind = v.shared ? PieceKind::kShmAnon : PieceKind::kAnon;
    } else if (!v.shared) {
      p.kind = PieceKind::kFilePrivate;
      p.region = next_region_++;
      paths_.try_emplace(p.region, v.path);
      if (!v.anon_pages.empty()) written_.insert(p.region);
    }
    bool lift = !v.anon_pages.empty() && !(v.prot & kProtWrite) && Emitted(p);
    if (lift) p.prot |= kProtWrite;  // map writable, write, then protect
    MapNew(id, act, p, FileNote(p, v.offset));
    for (size_t i = 0; i < v.anon_pages.size() && Emitted(p);) {
      size_t j = i + 1;
      while (j < v.anon_pages.size() &&
             v.anon_pages[j] == v.anon_pages[j - 1] + kPageSize)
        ++j;
      Line(id,
           "write " + Range(v.anon_pages[i], v.anon_pages[j - 1] + kPageSize));
      i = j;
    }
    if (lift) Mprotect(id, act, v.start, v.end, v.prot);
  }

  int pass_;
  TranslateOptions opts_;
  uint64_t line_ = 0;
  std::map<uint32_t, Actor> actors_;
  std::map<int, uint32_t> tid_actor_;
  std::set<int>
      borrowed_;  // CLONE_VM tasks outside their parent's thread group
  std::map<int, RawEvent> pending_;  // sys_enter by tid
  uint32_t next_actor_ = 2;
  uint32_t next_region_ = 1;
  bool root_exec_seen_ = false;
  std::set<uint32_t> written_;
  std::map<uint32_t, std::string> paths_;
  std::set<uint64_t> classes_;
  std::map<uint64_t, uint64_t> slot_;
  Status reloc_status_ = Status::Ok();
};

}  // namespace

Result<Translation> Translate(const std::vector<RawEvent>& events,
                              const std::vector<Snapshot>& snapshots,
                              const TranslateOptions& opts) {
  std::vector<RawEvent> all = events;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    RawEvent ev;
    ev.kind = EventKind::kSnapshot;
    ev.time = snapshots[i].time;
    ev.tid = ev.pid = snapshots[i].tid;
    ev.cpu = UINT16_MAX;  // after kernel events of the same instant
    ev.snapshot = static_cast<uint32_t>(i);
    all.push_back(ev);
  }
  SortEvents(&all);
  Translator first(1, opts);
  first.Run(all, snapshots);
  Translator second(2, opts);
  second.Learn(first);
  if (Status s = second.relocation_status(); !s.ok()) return s;
  second.Run(all, snapshots);
  Translation t;
  t.body = std::move(second.body_);
  t.ops = second.ops_;
  t.notes = second.reloc_notes_;
  t.notes.push_back("events: " + std::to_string(events.size()) +
                    " kernel events, " + std::to_string(snapshots.size()) +
                    " /proc snapshots, " + std::to_string(t.ops) +
                    " trace ops");
  for (const auto& [why, n] : second.skipped_)
    t.notes.push_back("left out: " + std::to_string(n) + " x " + why);
  return t;
}

}  // namespace rmaplab::record
