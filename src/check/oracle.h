// oracle.h: the content oracle: a plain, page-by-page record of what each
// process should read at each mapped page, kept apart from the model.
//
// It knows nothing of VMAs, page tables or reverse maps: a process's
// memory is a map from page address to a Cell, either private (its own
// value) or shared (a page of a shared object, by the oracle's own object
// ids).  Ops that succeed in the model are replayed here in the simplest
// terms (mmap adds cells, munmap drops them, fork copies them, a write
// sets one).  Check() then asks the model, without touching anything, what
// every process reads at every cell, and that the model maps exactly the
// cells the oracle has.
//
// Invariants:
//  (1) a pin is attached to the cell it pinned until that cell is unmapped
//      or zapped (munmap, dontneed, mremap over it, exit), after which DMA
//      through it reaches no one;
//  (2) private cells are never shared between processes.
#ifndef RMAPLAB_CHECK_ORACLE_H_
#define RMAPLAB_CHECK_ORACLE_H_

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "rmaplab/status.h"
#include "rmaplab/trace.h"

namespace rmaplab {

class Kernel;

class ContentOracle {
 public:
  // A disabled oracle (replay without --check) records nothing, so a plain
  // replay pays nothing per page for it.
  explicit ContentOracle(bool enabled) : enabled_(enabled) {}

  void Mmap(uint32_t pid, uint64_t addr, uint64_t len, bool shared);
  void Munmap(uint32_t pid, uint64_t addr, uint64_t len);
  void Mremap(uint32_t pid, uint64_t addr, uint64_t old_len, uint64_t new_len,
              bool fixed, uint64_t new_addr);
  void Madvise(uint32_t pid, uint64_t addr, uint64_t len, Advice advice);
  void Write(uint32_t pid, uint64_t addr, uint64_t value);
  void Fork(uint32_t parent, uint32_t child);
  void Exit(uint32_t pid);
  // The pid lives on with no cells and no pins (its pins went with its mm).
  void Exec(uint32_t pid);
  void Pin(uint32_t pid, uint64_t addr, uint64_t len);
  void Unpin(uint32_t pid, uint64_t addr, uint64_t len);
  void DmaWrite(uint32_t pid, uint64_t addr, uint64_t len, uint64_t value);

  // Compares every process's view with the model.
  Status Check(const Kernel& kernel) const;

 private:
  struct Cell {
    uint64_t value = 0;  // private cells
    uint32_t oid = 0;    // shared cells: object id (0 = private)
    uint64_t pgoff = 0;  // shared cells: page in the object
    bool dontfork = false;
    bool wipeonfork = false;
  };
  using Cells = std::map<uint64_t, Cell>;  // page address -> cell
  struct PinRec {
    uint32_t pid;
    uint64_t pin_addr;   // the address it was pinned at (names it)
    bool attached;       // still reaches a live cell
    uint64_t cell_addr;  // private: where that cell is now
    uint32_t oid;        // shared: object and page
    uint64_t pgoff;
  };

  void Erase(uint32_t pid, uint64_t start, uint64_t end);
  void Detach(uint32_t pid, uint64_t start, uint64_t end);
  void GrowLike(uint32_t pid, uint64_t from, uint64_t start, uint64_t end);

  std::map<uint32_t, Cells> procs_ = {{1, {}}};
  std::unordered_map<uint32_t, std::unordered_map<uint64_t, uint64_t>> objects_;
  std::vector<PinRec> pins_;
  uint32_t next_oid_ = 1;
  bool enabled_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_CHECK_ORACLE_H_
