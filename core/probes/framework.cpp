#include "core/probes/framework.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/runtime.h"

namespace vhmn {

torch::Tensor source_image(const data::Split& train, int64_t source) {
    if (train.size() == 0 || source < 0) return {};
    if (source < train.size() && train.index[source].item<int64_t>() == source) return train.images[source].clone();
    auto hit = (train.index == source).nonzero();
    if (hit.size(0) == 0) return {};
    return train.images[hit[0][0].item<int64_t>()].clone();
}

std::string branch_name(Branch b) { return b == Branch::Local ? "local" : "global"; }

Branch parse_branch(const std::string& name) {
    if (name == "local") return Branch::Local;
    if (name == "global") return Branch::Global;
    throw ConfigError("branch '" + name + "' is neither 'local' nor 'global'");
}

}  // namespace vhmn
