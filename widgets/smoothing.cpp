#include "widgets/smoothing.h"

#include <algorithm>
#include <cmath>

namespace vhmn::widgets {

std::vector<double> smooth_ema(const std::vector<double>& values, double weight) {
    const double w = std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, 0.999999);
    std::vector<double> out(values.size());
    double last = 0.0;
    double w_pow = 1.0;  // w^t
    for (size_t i = 0; i < values.size(); ++i) {
        const double x = values[i];
        if (!std::isfinite(x)) {
            out[i] = x;
            continue;
        }
        last = w * last + (1.0 - w) * x;
        w_pow *= w;
        out[i] = last / (1.0 - w_pow);
    }
    return out;
}

}  // namespace vhmn::widgets
