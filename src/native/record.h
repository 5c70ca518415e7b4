// record.h: `rmaplab record`: runs a command and writes its anonymous
// memory as a trace (../shared/spec/trace-format.md, version 2).
//
// record_tracer.h runs the command under ptrace (stops at exec and exit
// only) while record_perf.h reads every page fault, memory system call,
// fork, exec and exit from perf tracepoints; record_translate.h turns both
// into trace ops.
//
// Invariants:
//  (1) The output file is written whole, through a temporary file renamed
//      into place: it is never left half-written.
//  (2) Its header says what was recorded (command, program version, kernel,
//      date, relocation) and whether the recording is complete; a trace of
//      a command that failed, was killed, or lost events says `incomplete`.
#ifndef RMAPLAB_NATIVE_RECORD_H_
#define RMAPLAB_NATIVE_RECORD_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace rmaplab::record {

struct RecordOptions {
  std::string output;             // "" or "-": standard output
  std::vector<std::string> argv;  // the command
  bool truth = false;             // TranslateOptions::truth
};

// Exit statuses of `rmaplab record`.
inline constexpr int kRecordOk = 0;
inline constexpr int kRecordCommandFailed = 1;  // non-zero exit or killed
inline constexpr int kRecordUsage = 2;  // bad usage, not root, not found
inline constexpr int kRecordLost = 3;   // events lost: trace incomplete

int Record(const RecordOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace rmaplab::record

#endif  // RMAPLAB_NATIVE_RECORD_H_
