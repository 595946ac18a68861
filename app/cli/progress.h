#pragma once
// Training progress on the terminal: a live bar when stdout is a terminal, plain lines otherwise.
#include <ostream>
#include <string>
#include <vector>

#include "core/train/metrics.h"
#include "core/probes/framework.h"

namespace vhmn::cli {

class ProgressPrinter {
public:
    /// Writes to stdout (stderr with `to_stderr`: a command whose stdout is its --json result);
    /// detects whether that stream is a terminal.
    explicit ProgressPrinter(bool to_stderr = false);
    void step(const StepStats& s);
    void epoch(const EpochStats& e, int64_t epochs);
    void message(const std::string& m);

private:
    std::ostream* out_;
    bool tty_;
    bool line_open_ = false;
};

std::string format_duration(double seconds);

/// "vhmn: warning: ..." on stderr, one line each.
void print_warnings(const std::vector<std::string>& warnings);

/// Progress of a long probe as "<what>: N%" lines on stderr, every 10 %.
ProbeControl probe_progress();

}  // namespace vhmn::cli
