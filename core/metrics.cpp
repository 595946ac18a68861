#include "core/metrics.h"

namespace vhmn {

void to_json(nlohmann::json& j, const StepStats& s) {
    j = {{"step", s.step}, {"total_steps", s.total_steps}, {"epoch", s.epoch}, {"epochs", s.epochs},
         {"epoch_progress", s.epoch_progress}, {"loss", s.loss}, {"accuracy", s.accuracy},
         {"lr", s.lr}, {"images_per_s", s.images_per_s}, {"eta_s", s.eta_s},
         {"beta_local", s.beta_local}, {"beta_global", s.beta_global},
         {"entropy_local", s.entropy_local}, {"entropy_global", s.entropy_global}};
}

void from_json(const nlohmann::json& j, StepStats& s) {
    j.at("step").get_to(s.step), j.at("total_steps").get_to(s.total_steps);
    j.at("epoch").get_to(s.epoch), j.at("epochs").get_to(s.epochs);
    j.at("epoch_progress").get_to(s.epoch_progress), j.at("loss").get_to(s.loss);
    j.at("accuracy").get_to(s.accuracy), j.at("lr").get_to(s.lr);
    j.at("images_per_s").get_to(s.images_per_s), j.at("eta_s").get_to(s.eta_s);
    j.at("beta_local").get_to(s.beta_local), j.at("beta_global").get_to(s.beta_global);
    j.at("entropy_local").get_to(s.entropy_local), j.at("entropy_global").get_to(s.entropy_global);
}

void to_json(nlohmann::json& j, const EpochStats& e) {
    j = {{"epoch", e.epoch}, {"step", e.step}, {"train_loss", e.train_loss}, {"train_acc", e.train_acc},
         {"test_top1", e.test_top1}, {"test_top5", e.test_top5}, {"test_loss", e.test_loss},
         {"lr", e.lr}, {"seconds", e.seconds}, {"train_seconds", e.train_seconds}, {"eval_seconds", e.eval_seconds},
         {"unused_local", e.unused_local}, {"unused_global", e.unused_global}, {"age_local", e.age_local},
         {"age_global", e.age_global}};
}

void from_json(const nlohmann::json& j, EpochStats& e) {
    j.at("epoch").get_to(e.epoch), j.at("step").get_to(e.step);
    j.at("train_loss").get_to(e.train_loss), j.at("train_acc").get_to(e.train_acc);
    j.at("test_top1").get_to(e.test_top1), j.at("test_top5").get_to(e.test_top5);
    j.at("test_loss").get_to(e.test_loss), j.at("lr").get_to(e.lr), j.at("seconds").get_to(e.seconds);
    e.train_seconds = j.value("train_seconds", 0.0), e.eval_seconds = j.value("eval_seconds", 0.0);  // absent in older runs
    const std::vector<double> none;
    e.unused_local = j.value("unused_local", none), e.unused_global = j.value("unused_global", none);
    e.age_local = j.value("age_local", none), e.age_global = j.value("age_global", none);
}

void to_json(nlohmann::json& j, const History& h) { j = {{"epochs", h.epochs}, {"steps", h.steps}}; }

void from_json(const nlohmann::json& j, History& h) {
    j.at("epochs").get_to(h.epochs);
    j.at("steps").get_to(h.steps);
}

}  // namespace vhmn
