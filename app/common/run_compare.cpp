#include "app/common/run_compare.h"

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <map>

#include "core/models/config.h"
#include "core/models/stats.h"

namespace vhmn::app {
namespace {

/// The config as JSON pointers → values, without what differs between seeds of one case.
nlohmann::json case_key(const nlohmann::json& config) {
    nlohmann::json flat = config.flatten();
    for (const char* k : {"/train/seed", "/data/fingerprint", "/data/mean", "/data/std"})
        for (auto it = flat.begin(); it != flat.end();)
            it = it.key().rfind(k, 0) == 0 ? flat.erase(it) : std::next(it);
    return flat;
}

std::string mean_std(const std::vector<double>& v) {
    const auto [m, s] = mean_and_sample_std(v);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f \xC2\xB1 %.2f", m, s);
    return buf;
}

std::string text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::pair<double, double> mean_and_sample_std(const std::vector<double>& v) {
    if (v.empty()) return {0.0, 0.0};
    double m = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return {m, v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : 0.0};
}

Table final_metrics_table(const std::vector<RunFinal>& runs) {
    struct Case {
        nlohmann::json key, config;
        std::vector<double> top1, top5;
    };
    std::vector<Case> cases;
    for (const auto& r : runs) {
        if (r.top1 < 0) continue;
        const auto key = case_key(r.config);
        auto it = std::find_if(cases.begin(), cases.end(), [&](const Case& c) { return c.key == key; });
        if (it == cases.end()) it = cases.insert(cases.end(), Case{key, r.config, {}, {}});
        it->top1.push_back(r.top1), it->top5.push_back(r.top5);
    }
    // Keys whose values differ between cases (architecture and preset have their own columns).
    std::vector<std::string> differing;
    if (!cases.empty())
        for (auto it = cases.front().key.begin(); it != cases.front().key.end(); ++it) {
            const std::string& k = it.key();
            if (k == "/model/arch" || k == "/preset" || k.rfind("/model/", 0) == 0 || k.rfind("/data/train_size", 0) == 0)
                continue;  // model fields follow from arch + preset; sizes from the fraction
            for (const auto& c : cases)
                if (!c.key.contains(k) || c.key[k] != *it) {
                    differing.push_back(k);
                    break;
                }
        }
    std::vector<std::string> cols{"arch", "preset"};
    for (const auto& k : differing) cols.push_back(k.substr(k.rfind('/') + 1));
    for (const char* c : {"parameters", "runs", "test_top1", "test_top5"}) cols.emplace_back(c);
    Table t(cols);
    for (const auto& c : cases) {
        ModelConfig model;
        try {
            model = c.config.at("model").get<ModelConfig>();
        } catch (const std::exception&) {
        }
        std::vector<Cell> row{arch_display_name(model.arch), c.config.value("preset", std::string("-"))};
        for (const auto& k : differing) row.emplace_back(c.key.contains(k) ? text(c.key[k]) : std::string("-"));
        row.emplace_back(count_parameters(model));
        row.emplace_back(int64_t(c.top1.size()));
        row.emplace_back(mean_std(c.top1));
        row.emplace_back(mean_std(c.top5));
        t.add_row(std::move(row));
    }
    return t;
}

}  // namespace vhmn::app
