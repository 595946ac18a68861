#include "widgets/summary_table.h"

#include <QHeaderView>

namespace vhmn::widgets {

SummaryTable::SummaryTable(QWidget* parent) : QTableWidget(parent) {
    setColumnCount(2);
    setHorizontalHeaderLabels({tr("Property"), tr("Value")});
    horizontalHeader()->setStretchLastSection(true);
    verticalHeader()->setVisible(false);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setAlternatingRowColors(true);
}

void SummaryTable::setRows(const QVector<std::pair<QString, QString>>& rows) {
    setRowCount(static_cast<int>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
        setItem(i, 0, new QTableWidgetItem(rows[i].first));
        auto* value = new QTableWidgetItem(rows[i].second);
        value->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        setItem(i, 1, value);
    }
    resizeColumnToContents(0);
}

}  // namespace vhmn::widgets
