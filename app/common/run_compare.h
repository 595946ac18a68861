#pragma once
// Final metrics of several runs side by side: runs that differ only in their seed are one case,
// reported as mean ± sample std over the seeds (the runs browser's Compare; no Qt here).
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/io/table.h"

namespace vhmn::app {

struct RunFinal {
    std::string name;
    nlohmann::json config;  ///< the run's config.json
    double top1 = -1, top5 = -1;  ///< final epoch's test metrics (negative: none yet)
};

/// Mean and sample standard deviation (0 for fewer than two values) of final metrics over seeds.
std::pair<double, double> mean_and_sample_std(const std::vector<double>& values);

/// One row per case (config without seed, data statistics and fingerprint): architecture, preset,
/// every config value that differs between cases, parameters, the number of runs and test top-1 /
/// top-5 as "mean ± std" text. Runs without metrics are left out.
Table final_metrics_table(const std::vector<RunFinal>& runs);

}  // namespace vhmn::app
