// record.cc: `rmaplab record` from command line to trace file (see
// record.h).
#include "native/record.h"

#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "native/record_tracer.h"
#include "native/record_translate.h"

namespace rmaplab::record {
namespace {

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, f)) out += buf;
  pclose(f);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

// `s` as a shell word, on one line ($'...' when it holds a newline).
std::string Quote(const std::string& s) {
  if (!s.empty() &&
      s.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos)
    return s;
  if (s.find('\n') != std::string::npos) {
    std::string q = "$'";
    for (char c : s) {
      if (c == '\n')
        q += "\\n";
      else if (c == '\'' || c == '\\')
        q += std::string("\\") + c;
      else
        q += c;
    }
    return q + "'";
  }
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// "PATH (Debian package NAME VERSION)" for the program argv0 runs.
std::string ProgramVersion(const std::string& argv0) {
  std::string path = argv0.find('/') == std::string::npos
                         ? Shell("command -v " + Quote(argv0) + " 2>/dev/null")
                         : argv0;
  char real[PATH_MAX];
  if (path.empty() || !realpath(path.c_str(), real))
    return argv0 + " (not found)";
  std::string owner =
      Shell("dpkg-query -S " + Quote(real) + " 2>/dev/null | head -1");
  if (owner.empty() && std::string(real).rfind("/usr", 0) != 0)
    owner = Shell("dpkg-query -S " + Quote("/usr" + std::string(real)) +
                  " 2>/dev/null | head -1");
  std::string pkg = owner.substr(0, owner.find(':'));
  if (pkg.empty()) return std::string(real) + " (not from a Debian package)";
  std::string version =
      Shell("dpkg-query -W -f='${Version}' " + Quote(pkg) + " 2>/dev/null");
  return std::string(real) + " (Debian package " + pkg + " " + version + ")";
}

std::string Header(const RecordOptions& opts, const RunOutcome& run,
                   const std::string& status, const Translation* t) {
  std::string cmd;
  for (const std::string& a : opts.argv) {
    if (!cmd.empty()) cmd += ' ';
    cmd += Quote(a);
  }
  utsname u{};
  uname(&u);
  char date[64];
  time_t now = time(nullptr);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
  std::string h = "# rmaplab record -- " + cmd + "\n";
  h += "# program: " + ProgramVersion(opts.argv[0]) + "\n";
  h += std::string("# kernel: Linux ") + u.release + " " + u.machine + "\n";
  h += std::string("# date: ") + date + "\n";
  h += "# status: " + status + "\n";
  char secs[96];
  std::snprintf(
      secs, sizeof secs,
      "# command wall time under record: %.3f s (exec to last exit)\n",
      run.seconds);
  h += secs;
  if (t)
    for (const std::string& n : t->notes) h += "# " + n + "\n";
  return h;
}

// The status line and rmaplab's exit status for a finished run.
std::pair<std::string, int> Verdict(const RunOutcome& run) {
  if (!run.error.empty()) return {"incomplete: " + run.error, kRecordLost};
  if (!run.exited)
    return {"incomplete: the command was killed by signal " +
                std::to_string(run.signal) + " (" + strsignal(run.signal) + ")",
            kRecordCommandFailed};
  if (run.status != 0)
    return {"incomplete: the command exited with status " +
                std::to_string(run.status),
            kRecordCommandFailed};
  return {"complete", kRecordOk};
}

// `# truth ... pagemap_lines=` numbers are body lines; make them file lines.
std::string NumberTruthLines(const std::string& body, int header_lines) {
  std::string out;
  size_t pos = 0;
  const std::string key = " pagemap_lines=";
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(pos, nl - pos);
    size_t k = line.find(key);
    if (line.rfind("# truth ", 0) == 0 && k != std::string::npos) {
      std::string fixed = line.substr(0, k + key.size());
      size_t i = k + key.size();
      while (i < line.size()) {
        size_t comma = line.find(',', i);
        if (comma == std::string::npos) comma = line.size();
        if (fixed.back() != '=') fixed += ',';
        fixed +=
            std::to_string(std::stoi(line.substr(i, comma - i)) + header_lines);
        i = comma + 1;
      }
      line = fixed;
    }
    out += line + "\n";
    pos = nl + 1;
  }
  return out;
}

bool WriteWhole(const std::string& path, const std::string& text,
                std::ostream& out) {
  if (path.empty() || path == "-") {
    out << text;
    out.flush();
    return true;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int Record(const RecordOptions& opts, std::ostream& out, std::ostream& err) {
  if (opts.argv.empty()) {
    err << "rmaplab record: no command given (rmaplab record [-o FILE] -- CMD "
           "[ARGS...])\n";
    return kRecordUsage;
  }
  if (geteuid() != 0) {
    err << "rmaplab record: needs root (perf_event_open on kernel tracepoints, "
           "ptrace, /proc/PID/pagemap)\n";
    return kRecordUsage;
  }
  // The terminal's ^C goes to the command; the recorder stays to write what
  // it has.
  struct sigaction ign {
  }, old_int{}, old_quit{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  Result<RunOutcome> run = RunAndRecord(opts.argv);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  if (!run.ok()) {
    err << "rmaplab record: cannot record: " << run.status().message() << "\n";
    return kRecordUsage;
  }
  if (!run.value().started) {
    err << "rmaplab record: cannot run '" << opts.argv[0] << "': "
        << strerror(run.value().exec_errno ? run.value().exec_errno : ENOENT)
        << "\n";
    return kRecordUsage;
  }
  auto [status, rc] = Verdict(run.value());
  TranslateOptions topts;
  topts.truth = opts.truth;
  Result<Translation> t =
      Translate(run.value().events, run.value().snapshots, topts);
  std::string text;
  if (!t.ok()) {
    status = "incomplete: " + t.status().message();
    rc = kRecordLost;
    text = Header(opts, run.value(), status, nullptr);
  } else {
    std::string header = Header(opts, run.value(), status, &t.value());
    int lines =
        static_cast<int>(std::count(header.begin(), header.end(), '\n'));
    text = header + NumberTruthLines(t.value().body, lines);
  }
  if (!WriteWhole(opts.output, text, out)) {
    err << "rmaplab record: cannot write " << opts.output << ": "
        << strerror(errno) << "\n";
    return kRecordUsage;
  }
  if (rc != kRecordOk) err << "rmaplab record: " << status << "\n";
  return rc;
}

}  // namespace rmaplab::record
