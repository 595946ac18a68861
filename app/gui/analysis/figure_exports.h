#pragma once
// The figures of an analysis view by name, for its exportTo(what, …) and its "Export…" button: each
// figure is written beside the chosen file as <name>_<what>.<suffix>, and any other name exports the
// view as drawn. One helper for the Memory, Forgetting, Robustness and CIFAR-10-C views.
#include <functional>
#include <utility>
#include <vector>

#include <QString>
#include <QStringList>

#include "widgets/plot_export.h"

class QWidget;

namespace vhmn::gui {

class FigureExports {
public:
    /// `whole`: the interactive export also writes the view itself at the chosen name (not for CSV).
    void setView(QWidget* view, QString title, bool whole) {
        view_ = view, title_ = std::move(title), whole_ = whole;
    }
    /// A figure: anything with exportFile(path, dpi, error) (widgets' plots).
    template <typename Plot>
    void add(const QString& what, Plot* plot) {
        names_ << what;
        exports_.push_back([plot](const QString& path, int dpi, QString* error) { return plot->exportFile(path, dpi, error); });
    }
    bool exportTo(const QString& what, const QString& path, int dpi, QString* error) const {
        const int i = int(names_.indexOf(what));
        return i >= 0 ? exports_[size_t(i)](path, dpi, error) : widgets::exportWidget(view_, path, dpi, error);
    }
    void exportInteractive() const {
        widgets::exportFiguresInteractive(view_, title_, names_, whole_,
                                          [this](const QString& what, const QString& path, QString* error) {
                                              return exportTo(what, path, 150, error);
                                          });
    }

private:
    QWidget* view_ = nullptr;
    QString title_;
    bool whole_ = false;
    QStringList names_;
    std::vector<std::function<bool(const QString&, int, QString*)>> exports_;
};

}  // namespace vhmn::gui
