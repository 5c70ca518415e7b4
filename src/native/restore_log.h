// restore_log.h: the fixed-size, async-signal-safe log of machine settings
// a native run changed (see machine.h, invariant 2).
//
// Invariants:
//  (1) An entry is recorded before the change it undoes is made.
//  (2) RestoreLogRun() undoes entries in reverse order, each once, then
//      empties the log; it only calls async-signal-safe functions.
//  (3) While the log holds entries, its journal file (kJournal) holds the
//      same entries: a run killed where no handler runs (SIGKILL) leaves
//      the journal, and the next run, holding the lock, undoes it first
//      (RestoreLogRecover).
#ifndef RMAPLAB_NATIVE_RESTORE_LOG_H_
#define RMAPLAB_NATIVE_RESTORE_LOG_H_

#include <sys/types.h>

#include <string>

#include "rmaplab/status.h"

namespace rmaplab::native {

enum class UndoKind {
  kWriteFile,  // write `value` to `path`
  kSwapoff,    // swapoff(path)
  kRmdir,      // rmdir(path)
};

// Records an undo action; fails if the log is full.
Status RestoreLogPush(UndoKind kind, const std::string& path,
                      const std::string& value = "");
// Records the current content of a sysfs file, to be written back.
Status RestoreLogSaveFile(const std::string& path);
void RestoreLogAddWorker(pid_t pid);
void RestoreLogRemoveWorker(pid_t pid);
// Kills and reaps the workers, then undoes every entry.
void RestoreLogRun();
// Undoes what a killed run's journal holds; the number of entries undone.
int RestoreLogRecover();

// Writes `value` to a sysfs/procfs file.
Status WriteSysfs(const std::string& path, const std::string& value);

}  // namespace rmaplab::native

#endif  // RMAPLAB_NATIVE_RESTORE_LOG_H_
