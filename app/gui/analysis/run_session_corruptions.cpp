// RunSession's CIFAR-10-C job (issue 14): the suite on the open run, stored as the CLI stores it.
#include "app/gui/analysis/session_state.h"

#include <cmath>
#include <limits>

#include "app/gui/analysis/run_session.h"
#include "core/io/run_record.h"
#include "datasets/corruptions/cifar_c.h"

namespace vhmn::gui {

CorruptionsResult convert(const CorruptionsReport& r) {
    CorruptionsResult out;
    for (const auto& c : c_corruptions()) {
        const bool present = std::any_of(r.cells.begin(), r.cells.end(), [&](const CCell& cell) { return cell.corruption == c.name; });
        if (!present) continue;
        const bool ours = std::find(r.ours.begin(), r.ours.end(), c.name) != r.ours.end();
        out.corruptions << QString::fromStdString(c.name);
        out.display << QString::fromStdString(c.display) + (ours ? QStringLiteral(" (ours)") : QString());
        out.family << QString::fromStdString(c.family);
    }
    for (const auto& o : r.ours) out.ours << QString::fromStdString(o);
    out.released = r.released;
    out.source = QString::fromStdString(r.description);
    for (int64_t t : r.iterations) {
        const auto s = summarize(r, t);
        out.iterations << int(t);
        QVector<double> grid(out.corruptions.size() * 5, std::numeric_limits<double>::quiet_NaN());
        for (const auto& cell : r.cells) {
            if (cell.iterations != t) continue;
            const int row = int(out.corruptions.indexOf(QString::fromStdString(cell.corruption)));
            grid[row * 5 + cell.severity - 1] = cell.top1;
            out.images = int(cell.count);
        }
        out.top1 << grid;
        out.clean << s.clean, out.mean << s.mean, out.referenceCells << int(s.reference_cells);
        QMap<QString, double> fam;
        for (const auto& [f, v] : s.by_family) fam[QString::fromStdString(f)] = v;
        out.families << fam;
        out.mce << s.mce, out.relativeMce << s.relative_mce;
    }
    return out;
}

QVector<QPair<QString, QString>> RunSession::suiteCorruptions() {
    QVector<QPair<QString, QString>> out;
    for (const auto& c : c_corruptions()) {
        QString label = QString::fromStdString(c.display);
        if (c.ours_when_generated) label += QStringLiteral(" (ours: procedural texture)");
        else if (!c.reference) label += QStringLiteral(" (extra)");
        out.push_back({QString::fromStdString(c.name), label});
    }
    return out;
}

void load_stored_corruptions(const std::string& record, SessionState& st) {
    try {
        const auto names = probe_names(record);
        if (std::find(names.begin(), names.end(), "corruptions") == names.end()) return;
        const auto p = read_probe_record(record, "corruptions");
        st.corruptions = corruptions_from_result(p.table, p.params);
    } catch (const std::exception&) {
        st.corruptions.reset();  // an unreadable stored result is not shown; the suite can be run again
    }
}

bool RunSession::runCorruptions(const CorruptionsRequest& request) {
    if (!open_) return false;
    return startWork(QStringLiteral("CIFAR-10-C"), [this, request, batch = batch_](SessionState& st) {
        // Released files: the whole test split, of which the probe scores the images the files hold.
        auto in = app::probe_input(st.run, st.device, batch, request.releasedDir.isEmpty() ? request.limit : 0);
        std::unique_ptr<CorruptionSource> source;
        CorruptionsOptions opts;
        if (!request.releasedDir.isEmpty()) {
            source = std::make_unique<data::ReleasedSource>(request.releasedDir.toStdString(), request.limit);
        } else {
            source = std::make_unique<data::GeneratedCorruptions>(in.test, request.seed, st.run.dataset.name);
            for (const auto& c : c_corruptions())
                if (c.reference) opts.corruptions.push_back(c.name);
        }
        opts.severities = std::vector<int>(request.severities.begin(), request.severities.end());
        opts.iterations = std::vector<int64_t>(request.iterations.begin(), request.iterations.end());
        auto report = probe_corruptions(in, *source, opts, control_for(&cancel_, [this](double f, QString w) {
                                            post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                        }));
        app::save_probe(st.run, corruptions_result(report));
        app::save_corruption_tables(st.run.dir, report);
        st.corruptions = report;
        auto result = convert(report);
        post([this, result] {
            corruptions_ = result;
            Q_EMIT corruptionsReady(result);
        });
    });
}

}  // namespace vhmn::gui
