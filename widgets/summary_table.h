#pragma once
// A two-column key/value table (model summaries, run configs). Draws plain strings.
#include <QTableWidget>
#include <QVector>
#include <utility>

namespace vhmn::widgets {

class SummaryTable : public QTableWidget {
    Q_OBJECT
public:
    explicit SummaryTable(QWidget* parent = nullptr);
    void setRows(const QVector<std::pair<QString, QString>>& rows);
};

}  // namespace vhmn::widgets
