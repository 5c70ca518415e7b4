// rmap.h (internal): what the designs under src/rmap/ share beyond the
// public interface (rmaplab/rmap.h): the containers Linux's rmap code gets
// from the kernel (a slab cache, page->mapping handles, lists with O(1)
// removal), so that each design file holds only what differs.
//
// Invariants:
//  (1) an ObjectPool or HandleTable owns every object it handed out until
//      Delete; whatever is left is freed with it (no raw new/delete in a
//      design);
//  (2) handle 0 is never handed out (page->mapping 0 means none); a table
//      made with reuse == false never hands out a handle twice;
//  (3) in a PositionList every node's `pos` is its index in the list.
#ifndef RMAPLAB_RMAP_RMAP_INTERNAL_H_
#define RMAPLAB_RMAP_RMAP_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rmaplab/graph.h"
#include "rmaplab/rmap.h"

namespace rmaplab {

// A design's kmem_cache: owns the objects it creates.
template <typename T>
class ObjectPool {
 public:
  template <typename... Args>
  T* New(Args&&... args) {
    auto obj = std::make_unique<T>(T{std::forward<Args>(args)...});
    T* raw = obj.get();
    objs_.emplace(raw, std::move(obj));
    return raw;
  }
  void Delete(T* obj) { objs_.erase(obj); }
  size_t live() const { return objs_.size(); }

 private:
  std::unordered_map<T*, std::unique_ptr<T>> objs_;
};

// Objects named by a 32-bit handle, as page->mapping names them.  T has a
// `uint32_t handle` member, which New sets.
template <typename T>
class HandleTable {
 public:
  explicit HandleTable(bool reuse) : reuse_(reuse) {}

  T* New() {
    uint32_t h;
    if (reuse_ && !free_.empty()) {
      h = free_.back();
      free_.pop_back();
    } else {
      if (slots_.empty()) slots_.emplace_back();  // handle 0 = none
      h = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    slots_[h] = std::make_unique<T>();
    slots_[h]->handle = h;
    live_++;
    return slots_[h].get();
  }
  void Delete(T* obj) {
    uint32_t h = obj->handle;
    slots_[h].reset();
    if (reuse_) free_.push_back(h);
    live_--;
  }
  T* Find(uint32_t h) const {
    return h < slots_.size() ? slots_[h].get() : nullptr;
  }
  size_t live() const { return live_; }
  // Calls fn(const T&) for every live object, in handle order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& s : slots_)
      if (s) fn(*s);
  }

 private:
  bool reuse_;
  std::vector<std::unique_ptr<T>> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

// An unordered list whose nodes know their index (`size_t pos`), so that
// removal is O(1): the last node takes the removed one's place.  Models the
// kernel lists and trees a walk only iterates (anon_vma->head, the
// anon_vma interval tree, i_mmap).
template <typename Node>
class PositionList {
 public:
  void Add(Node* n) {
    n->pos = nodes_.size();
    nodes_.push_back(n);
  }
  void Remove(Node* n) {
    Node* last = nodes_.back();
    nodes_[n->pos] = last;
    last->pos = n->pos;
    nodes_.pop_back();
  }
  // Invariant (3) for every node, and each node satisfies `ok`.
  template <typename Pred>
  bool Consistent(Pred&& ok) const {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->pos != i || !ok(*nodes_[i])) return false;
    return true;
  }
  bool empty() const { return nodes_.empty(); }
  size_t size() const { return nodes_.size(); }
  auto begin() const { return nodes_.begin(); }
  auto end() const { return nodes_.end(); }

 private:
  std::vector<Node*> nodes_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_RMAP_RMAP_INTERNAL_H_
