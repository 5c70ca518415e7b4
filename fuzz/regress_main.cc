// regress_main.cc: a main() for the fuzz harnesses in ordinary builds
// (without libFuzzer): runs LLVMFuzzerTestOneInput once on each file named
// on the command line, so the inputs kept in fuzz/regressions/ -- crashes
// the fuzzers once found, and seeds -- are replayed by ctest on every build.
// A harness signals failure by abort(), so success is reaching the end.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
    std::printf("ok   %s\n", argv[i]);
  }
  return 0;
}
