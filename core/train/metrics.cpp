#include "core/train/metrics.h"

namespace vhmn {

void to_json(nlohmann::json& j, const StepStats& s) {
    j = {{"step", s.step}, {"total_steps", s.total_steps}, {"epoch", s.epoch}, {"epochs", s.epochs},
         {"epoch_progress", s.epoch_progress}, {"loss", s.loss}, {"accuracy", s.accuracy},
         {"lr", s.lr}, {"images_per_s", s.images_per_s}, {"eta_s", s.eta_s},
         {"beta_local", s.beta_local}, {"beta_global", s.beta_global},
         {"entropy_local", s.entropy_local}, {"entropy_global", s.entropy_global}};
    if (s.gpu_allocated >= 0)
        j.update({{"gpu_allocated", s.gpu_allocated}, {"gpu_reserved", s.gpu_reserved},
                  {"gpu_peak_allocated", s.gpu_peak_allocated}, {"gpu_peak_reserved", s.gpu_peak_reserved}});
}

void from_json(const nlohmann::json& j, StepStats& s) {
    j.at("step").get_to(s.step), j.at("total_steps").get_to(s.total_steps);
    j.at("epoch").get_to(s.epoch), j.at("epochs").get_to(s.epochs);
    j.at("epoch_progress").get_to(s.epoch_progress), j.at("loss").get_to(s.loss);
    j.at("accuracy").get_to(s.accuracy), j.at("lr").get_to(s.lr);
    j.at("images_per_s").get_to(s.images_per_s), j.at("eta_s").get_to(s.eta_s);
    j.at("beta_local").get_to(s.beta_local), j.at("beta_global").get_to(s.beta_global);
    j.at("entropy_local").get_to(s.entropy_local), j.at("entropy_global").get_to(s.entropy_global);
    s.gpu_allocated = j.value("gpu_allocated", -1.0), s.gpu_reserved = j.value("gpu_reserved", -1.0);
    s.gpu_peak_allocated = j.value("gpu_peak_allocated", -1.0), s.gpu_peak_reserved = j.value("gpu_peak_reserved", -1.0);
}

const std::vector<EpochField>& epoch_fields() {
    static const std::vector<EpochField> fields = {
        {"train_loss", &EpochStats::train_loss, false}, {"train_acc", &EpochStats::train_acc, false},
        {"test_top1", &EpochStats::test_top1, false},   {"test_top5", &EpochStats::test_top5, false},
        {"test_loss", &EpochStats::test_loss, false},   {"lr", &EpochStats::lr, false},
        {"seconds", &EpochStats::seconds, false},       {"train_seconds", &EpochStats::train_seconds, true},
        {"eval_seconds", &EpochStats::eval_seconds, true}};
    return fields;
}

const std::vector<EpochSeries>& epoch_series() {
    static const std::vector<EpochSeries> series = {{"unused_local", &EpochStats::unused_local},
                                                    {"unused_global", &EpochStats::unused_global},
                                                    {"age_local", &EpochStats::age_local},
                                                    {"age_global", &EpochStats::age_global}};
    return series;
}

void to_json(nlohmann::json& j, const EpochStats& e) {
    j = {{"epoch", e.epoch}, {"step", e.step}};
    for (const auto& f : epoch_fields()) j[f.name] = e.*f.member;
    for (const auto& s : epoch_series()) j[s.name] = e.*s.member;
}

void from_json(const nlohmann::json& j, EpochStats& e) {
    j.at("epoch").get_to(e.epoch), j.at("step").get_to(e.step);
    for (const auto& f : epoch_fields()) e.*f.member = f.optional ? j.value(f.name, 0.0) : j.at(f.name).get<double>();
    for (const auto& s : epoch_series()) e.*s.member = j.value(s.name, std::vector<double>());  // absent in older runs
}

void to_json(nlohmann::json& j, const History& h) { j = {{"epochs", h.epochs}, {"steps", h.steps}}; }

void from_json(const nlohmann::json& j, History& h) {
    j.at("epochs").get_to(h.epochs);
    j.at("steps").get_to(h.steps);
}

}  // namespace vhmn
