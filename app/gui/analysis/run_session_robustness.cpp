// RunSession's robustness jobs: the Fig. 2 sweep, the Fig. 6 stability sweep and the figure pack.
#include "app/gui/analysis/session_state.h"

#include "app/common/figures.h"
#include "app/gui/analysis/run_session.h"
#include "core/probes/perturbations.h"

namespace vhmn::gui {

bool RunSession::runRobustness(const QVector<int>& iterations, int limit, quint64 seed) {
    if (!open_) return false;
    std::vector<int64_t> ts(iterations.begin(), iterations.end());
    return startWork(QStringLiteral("robustness"), [this, ts, limit, seed, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, st.device, batch, limit);
        auto rows = probe_robustness(in, robustness_corruptions(), ts, seed, control_for(&cancel_, [this](double f, QString w) {
                                         post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                     }));
        st.cache.robustness = rows;
        st.cache.robustness_seed = seed;
        auto points = convert(rows);
        post([this, points] {
            robustness_ = points;
            Q_EMIT robustnessReady(points);
        });
    });
}

bool RunSession::runStability(int block, int branch, int limit, quint64 seed) {
    if (!open_) return false;
    return startWork(QStringLiteral("stability"), [this, block, branch, limit, seed, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, st.device, batch, limit);
        const int64_t b = block < 0 ? st.run.config.model.depth - 1 : block;
        auto rows = probe_stability(in, b, branch_of(branch), stability_corruptions(), seed,
                                    control_for(&cancel_, [this](double f, QString w) {
                                        post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                    }));
        st.cache.stability = rows;
        st.cache.stability_block = b;
        st.cache.stability_branch = branch_of(branch);
        auto result = convert(rows, b, branch_of(branch));
        post([this, result] {
            stability_ = result;
            Q_EMIT stabilityReady(result);
        });
    });
}

bool RunSession::computeFigurePack(const FigurePackRequest& request) {
    if (!open_) return false;
    return startWork(QStringLiteral("figure pack"), [this, request, batch = batch_](SessionState& st) {
        app::FigureOptions o;
        o.iterations.assign(request.iterations.begin(), request.iterations.end());
        o.limit = request.limit;
        o.batch = batch;
        o.seed = request.seed;
        o.weights_branch = branch_of(request.weightsBranch);
        o.weights_class = request.weightsClass;
        app::FigureData d = st.cache;  // reuse what the views already computed
        d.weights = st.weights[request.weightsBranch == 0 ? 0 : 1];
        d.weights_class = request.weightsClass;
        d.hits = st.hits;
        auto report = [this](double f, QString w) { post([this, f, w] { Q_EMIT jobProgress(f * 0.9, w); }); };
        app::compute_figure_data(st.run, o, d, control_for(&cancel_, report));
        const auto written = app::write_figure_tables(d, request.dir.toStdString());
        FigurePackData out;
        out.dir = request.dir;
        for (const auto& w : written) out.written << qs(w);
        out.robustness = convert(d.robustness);
        out.stability = convert(d.stability, d.stability_block, d.stability_branch);
        out.memory = convert(st.run.model, d.weights, d.hits, request.weightsBranch,
                             int(app::probe_input(st.run, st.device, batch, request.limit).test.size()));
        out.weightsClass = request.weightsClass;
        if (st.corruptions) out.corruptions = convert(*st.corruptions);
        // Fig. 3: the first correctly classified image of evenly spaced classes.
        const auto& test = st.run.dataset.test;
        const int64_t classes = st.run.config.model.classes;
        const int examples = std::max(1, request.examples);
        for (int e = 0; e < examples; ++e) {
            if (cancel_) throw ProbeCancelled();
            const int64_t cls = (int64_t(e) * classes) / examples;
            int64_t pick = -1, fallback = -1;
            auto idx = (test.labels == cls).nonzero().view(-1);
            for (int64_t j = 0; j < idx.size(0) && j < 64; ++j) {
                const int64_t i = idx[j].item<int64_t>();
                if (fallback < 0) fallback = i;
                ImageRequest r;
                r.index = int(i);
                r.k = 3;
                auto res = query_image(st, st.run.model, r);
                if (res.prediction == res.label) {
                    out.examples.push_back(res);
                    pick = i;
                    break;
                }
            }
            if (pick < 0 && fallback >= 0) {
                ImageRequest r;
                r.index = int(fallback);
                r.k = 3;
                out.examples.push_back(query_image(st, st.run.model, r));
            }
            post([this, e, examples] { Q_EMIT jobProgress(0.9 + 0.1 * (e + 1) / examples, tr("prototypes of example images")); });
        }
        post([this, out] { Q_EMIT figurePackReady(out); });
    });
}

}  // namespace vhmn::gui
