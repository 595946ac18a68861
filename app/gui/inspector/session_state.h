#pragma once
// The torch side of a RunSession, shared by its translation units (run_session.cpp and
// run_session_memory.cpp); the views never include this.
#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <QString>

#include "app/experiment.h"
#include "app/figures.h"
#include "app/gui/inspector/session_types.h"
#include "core/probes.h"
#include "core/probes/cifar_c.h"
#include "core/probes/memory_map.h"

namespace vhmn::gui {

/// Everything torch-side of one opened run. The long thread owns `run` (its model) and the
/// caches; the inspector thread reads the dataset (read-only) and uses its own `image_model`.
struct SessionState {
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

/// The CIFAR-10-C result stored in run.h5 (`record`), if any, into `st` (run_session_corruptions.cpp).
void load_stored_corruptions(const std::string& record, SessionState& st);
CorruptionsResult convert(const CorruptionsReport& r);

/// Progress (at most every 50 ms, and at the end) and cancel for a probe run by a session job.
ProbeControl control_for(std::atomic<bool>* cancel, std::function<void(double, QString)> report);

}  // namespace vhmn::gui
