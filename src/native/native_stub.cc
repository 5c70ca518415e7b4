// native_stub.cc: placeholder until the native replayer lands.
#include <ostream>

#include "native/native.h"

namespace rmaplab {

int NativeCommand(const std::vector<std::string>&, std::ostream&,
                  std::ostream& err) {
  err << "rmaplab native: not implemented yet\n";
  return 2;
}

int DiffCommand(const std::vector<std::string>&, std::ostream&,
                std::ostream& err) {
  err << "rmaplab diff: not implemented yet\n";
  return 2;
}

}  // namespace rmaplab
