// RunSession's memory-as-evidence jobs: the ablation curve and leave-one-class-out (issue 15).
#include "app/gui/analysis/session_state.h"

#include "app/gui/analysis/run_session.h"
#include "app/gui/analysis/tensor_image.h"
#include "core/probes/ablation.h"
#include "core/probes/image.h"
#include "core/probes/memory_map.h"

namespace vhmn::gui {

bool RunSession::runAblation(int limit, int usageLimit, quint64 seed) {
    if (!open_ || !info_.hasMemory) return false;
    return startWork(QStringLiteral("ablation"), [this, limit, usageLimit, seed, batch = batch_](SessionState& st) {
        auto report = [this](double f, QString what) { post([this, f, what] { Q_EMIT jobProgress(f, what); }); };
        // Usage is counted on the run's training images (refused when the data is not the run's).
        auto usage_in = app::probe_input(st.run, st.device, batch, usageLimit, &st.run.provenance_train());
        const auto usage = slot_usage(usage_in, control_for(&cancel_, [report](double f, QString w) {
                                          report(0.2 * f, w + QStringLiteral(" (training images)"));
                                      }));
        AblationOptions o;
        o.seed = seed;
        auto in = app::probe_input(st.run, st.device, batch, limit);
        const auto rows = probe_ablation(in, usage, o, control_for(&cancel_, [report](double f, QString w) {
                                             report(0.2 + 0.8 * f, w);
                                         }));
        app::save_probe(st.run, ablation_result(rows, o, usage.images));
        QVector<AblationPoint> points;
        for (const auto& r : rows)
            points.push_back({QString::fromStdString(r.order), QString::fromStdString(r.branch), r.masked_fraction, r.top1,
                              int(r.masked_slots), int(r.count)});
        post([this, points] { Q_EMIT ablationReady(points); });
    });
}

bool RunSession::runLeaveClassOut(int limit) {
    if (!open_ || !info_.hasMemory) return false;
    return startWork(QStringLiteral("leave-class-out"), [this, limit, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, st.device, batch, limit);
        const auto r = probe_leave_class_out(in, control_for(&cancel_, [this](double f, QString w) {
                                                 post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                             }));
        app::save_probe(st.run, leave_class_out_result(r));
        LeaveClassOutResult out;
        out.baseline = QVector<double>(r.baseline.begin(), r.baseline.end());
        for (const auto& row : r.accuracy) out.accuracy.push_back(QVector<double>(row.begin(), row.end()));
        out.top1 = QVector<double>(r.top1.begin(), r.top1.end());
        out.baselineTop1 = r.baseline_top1;
        out.images = int(in.test.size());
        post([this, out] { Q_EMIT leaveClassOutReady(out); });
    });
}

bool RunSession::computeMap(int block, int branch, int index) {
    if (!open_ || !info_.hasMemory) return false;
    return startWork(QStringLiteral("map"), [this, block, branch, index](SessionState& st) {
        const Branch br = branch == 0 ? Branch::Local : Branch::Global;
        const auto& cfg = st.run.config;
        auto cached = st.maps.find({block, branch});
        if (cached == st.maps.end()) {
            auto map = memory_map(memory_of(st.run.model, "the memory map"), block, br);
            static const data::Split none;
            const data::Split& train = st.run.provenance_ok() ? st.run.dataset.train : none;
            MapResult points;
            points.block = block, points.branch = branch;
            points.explained = QVector<double>(map.axes.explained.begin(), map.axes.explained.end());
            const auto coords = map.coords.to(torch::kCPU, torch::kDouble).contiguous();
            const double* c = coords.data_ptr<double>();
            for (size_t i = 0; i < map.slots.size(); ++i) {
                points.x << c[2 * i], points.y << c[2 * i + 1];
                points.cls << int(map.labels[i]), points.source << int(map.sources[i]), points.slot << int(map.slots[i]);
                points.step << int(map.steps[i]);
                auto pixels = source_image(train, map.sources[i]);
                if (pixels.defined() && br == Branch::Local) {
                    const auto b = token_box(cfg.model, map.rows[i], map.cols[i]);
                    pixels = pixels.slice(1, b.y, b.y + b.h).slice(2, b.x, b.x + b.w);
                }
                points.patch << (pixels.defined() ? tensor_to_image(pixels.contiguous()) : QImage());
            }
            cached = st.maps.emplace(std::make_pair(block, branch), std::make_pair(std::move(map), std::move(points))).first;
        }
        const MemoryMap& map = cached->second.first;
        MapResult out = cached->second.second;
        const auto& test = st.run.dataset.test;
        if (index >= 0 && index < test.size()) {
            const auto path = map_trajectory(st.run.model, map, test.images[index], cfg.data.mean, cfg.data.std, -1, st.device)
                                  .to(torch::kCPU)
                                  .contiguous();
            out.index = index;
            for (int64_t t = 0; t < path.size(0); ++t) out.pathX << path[t][0].item<double>(), out.pathY << path[t][1].item<double>();
        }
        post([this, out] { Q_EMIT mapReady(out); });
    });
}

}  // namespace vhmn::gui
