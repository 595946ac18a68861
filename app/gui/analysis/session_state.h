#pragma once
// The torch side of a RunSession, shared by its translation units (run_session*.cpp, image_query.cpp,
// session_convert.cpp); the views never include this.
#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <QString>
#include <QStringList>
#include <QVector>

#include "app/common/experiment.h"
#include "app/common/figures.h"
#include "app/gui/analysis/session_types.h"
#include "core/probes/framework.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/cifar_c.h"
#include "core/probes/robustness.h"
#include "core/probes/stability.h"
#include "core/probes/memory_map.h"

namespace vhmn::gui {

/// Everything torch-side of one opened run. The long thread owns `run` (its model) and the
/// caches; the inspector thread reads the dataset (read-only) and uses its own `image_model`.
struct SessionState {
    /// Where the session's queries and jobs run (the app's analysis device; the dataset stays on the host).
    torch::Device device{torch::kCPU};
    app::OpenedRun run;
    Model image_model{nullptr};
    app::FigureData cache;               ///< long thread only
    std::vector<SlotWeights> weights[2];  ///< long thread only: per branch, every block
    std::vector<HitRow> hits;
    /// Maps drawn so far, per (block, branch): the banks do not change while a run is open, so a
    /// new click only adds its trajectory (long thread only).
    std::map<std::pair<int, int>, std::pair<MemoryMap, MapResult>> maps;
    std::optional<CorruptionsReport> corruptions;  ///< stored or computed (long thread only)
};

inline QString qs(const std::string& s) { return QString::fromStdString(s); }
/// A tensor's values as doubles, read on the host (copied there first: a GPU's memory is not the host's).
inline QVector<double> host_doubles(const torch::Tensor& t) {
    const auto h = t.to(torch::kCPU, torch::kDouble).contiguous();
    return QVector<double>(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
}
inline Branch branch_of(int b) { return b == 0 ? Branch::Local : Branch::Global; }
inline QVector<double> qvec(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }
inline QVector<int> qvec_int(const std::vector<int64_t>& v) {
    QVector<int> out;
    out.reserve(int(v.size()));
    for (int64_t x : v) out.push_back(int(x));
    return out;
}

/// One inspector query (image_query.cpp): the clicked test image, corrupted as asked, through `model`.
ImageResult query_image(SessionState& st, Model& model, const ImageRequest& r);

// Plain Qt results of the probes (session_convert.cpp).
QVector<RobustnessPoint> convert(const std::vector<RobustnessRow>& rows);
StabilityResult convert(const std::vector<StabilityRow>& rows, int64_t block, Branch branch);
MemoryResult convert(Model& model, const std::vector<SlotWeights>& ws, const std::vector<HitRow>& hits, int branch,
                     int images);
/// Probe results stored in run.h5 by `vhmn probe` (nothing when absent or unreadable).
void load_stored(const std::string& dir, SessionState& st);
/// A run and its dataset opened for a session (its models on `device`), its stored probes loaded.
std::shared_ptr<SessionState> open_state(const QString& dir, const QString& data, const QStringList& data_dirs,
                                         const torch::Device& device);
/// What the views show about an opened run (its name, sizes, summary line, warnings).
InspectedRun describe_run(const SessionState& st, const QString& dir);
/// The grid's test images (`limit` evenly spaced; 0: all) with the model's predictions, in batches of
/// `batch`; ProbeCancelled when `cancel` is set; `progress(fraction)` after each batch.
TestSet predict_grid(SessionState& st, int batch, int limit, const std::atomic<bool>& cancel,
                     const std::function<void(double)>& progress);

/// The CIFAR-10-C result stored in run.h5 (`record`), if any, into `st` (run_session_corruptions.cpp).
void load_stored_corruptions(const std::string& record, SessionState& st);
CorruptionsResult convert(const CorruptionsReport& r);

/// Progress (at most every 50 ms, and at the end) and cancel for a probe run by a session job.
ProbeControl control_for(std::atomic<bool>* cancel, std::function<void(double, QString)> report);

}  // namespace vhmn::gui
