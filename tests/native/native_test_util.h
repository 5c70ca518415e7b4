// native_test_util.h: runs NativeCommand on a trace written to a temp file.
#ifndef RMAPLAB_TESTS_NATIVE_NATIVE_TEST_UTIL_H_
#define RMAPLAB_TESTS_NATIVE_NATIVE_TEST_UTIL_H_

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"  // NativeCommand

namespace rmaplab::testing {

struct NativeRun {
  int status = -1;
  std::string out;
  std::string err;
  std::vector<std::string> lines;  // `out`, split
};

inline NativeRun RunNative(const std::string& trace,
                           std::vector<std::string> flags = {}) {
  char path[] = "/tmp/rmaplab-native-test-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) {
    ssize_t n = write(fd, trace.data(), trace.size());
    (void)n;
    close(fd);
  }
  flags.push_back(path);
  std::ostringstream out, err;
  NativeRun r;
  r.status = NativeCommand(flags, out, err);
  unlink(path);
  r.out = out.str();
  r.err = err.str();
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) r.lines.push_back(line);
  return r;
}

inline bool IsRoot() { return geteuid() == 0; }

}  // namespace rmaplab::testing

#endif  // RMAPLAB_TESTS_NATIVE_NATIVE_TEST_UTIL_H_
