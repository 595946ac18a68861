#pragma once
// What a probe writes (a table and named arrays), as the run record stores it (core/io/run_record.h).
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/io/table.h"

namespace vhmn {

/// What a probe writes: parameters, a table and named arrays (keys may contain '/').
struct ProbeResult {
    std::string name;
    nlohmann::json params = nlohmann::json::object();
    Table table;
    std::vector<std::pair<std::string, torch::Tensor>> arrays;
};

}  // namespace vhmn
