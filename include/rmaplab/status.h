// status.h: errors as values.
//
// A simulated errno (EEXIST, ENOMEM, ...) is a result, not a failure of the
// simulator: ops return an Errno.  Status carries a message for everything
// else (bad options, an unknown design, a broken invariant).  Exceptions are
// used only at the CLI and parser edge.
#ifndef RMAPLAB_STATUS_H_
#define RMAPLAB_STATUS_H_

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rmaplab {

// The errno names an op can fail with; kExpect is the spec's `EXPECT`.
enum class [[nodiscard]] Errno{
    kOk = 0, kEPERM,  kESRCH,  kENOMEM, kEFAULT,
    kEBUSY,  kEEXIST, kEINVAL, kEAGAIN, kENODEV,
    kENOSYS,  // the op is not supported (yet) by this model or design
    kExpect,  // an `expect` found another value
};

// "EEXIST", "ENOMEM", ..., "EXPECT".
std::string_view ErrnoName(Errno e);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string msg) { return Status(std::move(msg)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return msg_; }

 private:
  explicit Status(std::string msg) : failed_(true), msg_(std::move(msg)) {}
  bool failed_ = false;
  std::string msg_;
};

// A value or an error message.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  const Status& status() const { return std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_STATUS_H_
