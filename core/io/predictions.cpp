#include "core/io/predictions.h"

#include <algorithm>

#include "core/io/run_record.h"

namespace vhmn {

ProbeResult predictions_result(const TestPredictions& p, const data::Split& test, int64_t epochs, int64_t iterations) {
    const int64_t n = test.size();
    TORCH_CHECK(p.prediction.numel() == n && p.confidence.numel() == n, "predictions: ", p.prediction.numel(),
                " predictions for ", n, " test images");
    ProbeResult r;
    r.name = kPredictionsProbe;
    r.params = {{"epochs", epochs}, {"iterations", iterations}, {"test_count", n}};
    r.table = Table({"index", "label", "prediction", "confidence"});
    const auto index = test.index.to(torch::kCPU).contiguous(), labels = test.labels.to(torch::kCPU).contiguous();
    const auto pred = p.prediction.to(torch::kCPU, torch::kLong).contiguous();
    const auto conf = p.confidence.to(torch::kCPU, torch::kDouble).contiguous();
    for (int64_t i = 0; i < n; ++i)
        r.table.add_row({index.data_ptr<int64_t>()[i], labels.data_ptr<int64_t>()[i], pred.data_ptr<int64_t>()[i],
                         conf.data_ptr<double>()[i]});
    return r;
}

std::optional<TestPredictions> read_predictions(const std::string& record, const data::Split& test, int64_t epochs,
                                                int64_t iterations) {
    try {
        const auto names = probe_names(record);
        if (std::find(names.begin(), names.end(), kPredictionsProbe) == names.end()) return std::nullopt;
        const auto p = read_probe_record(record, kPredictionsProbe);
        const int64_t n = test.size();
        if (p.params.value("epochs", int64_t(-2)) != epochs || p.params.value("iterations", int64_t(-2)) != iterations ||
            p.params.value("test_count", int64_t(-1)) != n || int64_t(p.table.rows()) != n)
            return std::nullopt;
        const auto index = p.table.numbers("index"), label = p.table.numbers("label");
        const auto pred = p.table.numbers("prediction"), conf = p.table.numbers("confidence");
        const auto want_index = test.index.to(torch::kCPU).contiguous(), want_label = test.labels.to(torch::kCPU).contiguous();
        for (int64_t i = 0; i < n; ++i)
            if (int64_t(index[size_t(i)]) != want_index.data_ptr<int64_t>()[i] ||
                int64_t(label[size_t(i)]) != want_label.data_ptr<int64_t>()[i])
                return std::nullopt;
        TestPredictions out;
        out.prediction = torch::tensor(std::vector<int64_t>(pred.begin(), pred.end()), torch::kLong);
        out.confidence = torch::tensor(conf, torch::kDouble);
        return out;
    } catch (const std::exception&) {
        return std::nullopt;  // unreadable: computed again
    }
}

}  // namespace vhmn
