// native.h: the native replayer: runs a trace on this machine's kernel.
#ifndef RMAPLAB_NATIVE_NATIVE_H_
#define RMAPLAB_NATIVE_NATIVE_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace rmaplab {

// `rmaplab native ARGS...` and `rmaplab diff ARGS...`; `args` excludes the
// subcommand name.  Return the process exit status.
int NativeCommand(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);
// "" if this process can replay natively, else why not (for exit 2).
std::string NativePreflight();
// Whether this machine's kernel uses x86 protection keys (the CPU has `pku`
// and the kernel enabled it: `ospke` in /proc/cpuinfo), so that PROT_EXEC
// alone is execute-only (SimOptions::pku).
bool HostHasPku();

int DiffCommand(const std::vector<std::string>& args, std::ostream& out,
                std::ostream& err);

}  // namespace rmaplab

#endif  // RMAPLAB_NATIVE_NATIVE_H_
