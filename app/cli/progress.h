#pragma once
// Training progress on the terminal: a live bar when stdout is a terminal, plain lines otherwise.
#include <string>
#include <vector>

#include "core/train/metrics.h"
#include "core/probes/framework.h"

namespace vhmn::cli {

class ProgressPrinter {
public:
    ProgressPrinter();  // detects whether stdout is a terminal
    void step(const StepStats& s);
    void epoch(const EpochStats& e, int64_t epochs);
    void message(const std::string& m);

private:
    bool tty_;
    bool line_open_ = false;
};

std::string format_duration(double seconds);

/// "vhmn: warning: ..." on stderr, one line each.
void print_warnings(const std::vector<std::string>& warnings);

/// Progress of a long probe as "<what>: N%" lines on stderr, every 10 %.
ProbeControl probe_progress();

}  // namespace vhmn::cli
