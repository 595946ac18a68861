#pragma once
// A browsable grid of test images (thumbnails, nearest-neighbour) with filters: class, correct /
// incorrect and a confidence range. Thumbnails are drawn on demand from the small images, so a
// 10,000-image test split costs only its pixels. Plain data: QImage + label/prediction/confidence.
#include <QImage>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QListView;

namespace vhmn::widgets {

struct GridItem {
    QImage image;
    int index = -1;       ///< the image's index in the test split
    int label = -1;
    int prediction = -1;  ///< −1: not predicted (yet)
    double confidence = 0;  ///< probability of the prediction
};

class GridModel;

class ImageGrid : public QWidget {
    Q_OBJECT
public:
    enum Correctness { All = 0, Correct = 1, Incorrect = 2 };

    explicit ImageGrid(QWidget* parent = nullptr);
    ~ImageGrid() override;

    void setItems(QVector<GridItem> items, const QStringList& classNames);
    int itemCount() const;
    /// cls −1: every class.
    void setFilter(int cls, Correctness correctness, double minConfidence = 0.0, double maxConfidence = 1.0);
    int visibleCount() const;
    /// Test-split index of the visible cell `row` (−1 outside).
    int indexAt(int row) const;
    /// Visible row of a test-split index (−1 when filtered out).
    int rowOf(int index) const;
    /// Select (and scroll to) an image by test-split index; false when it is not visible.
    bool selectIndex(int index);
    int selectedIndex() const;
    QListView* view() const { return view_; }
    void setThumbnailScale(int scale);

Q_SIGNALS:
    /// The user clicked (or moved the selection to) an image.
    void imageClicked(int index);

private:
    void applyFilter();

    GridModel* model_ = nullptr;
    QListView* view_ = nullptr;
    QComboBox* class_ = nullptr;
    QComboBox* correct_ = nullptr;
    QDoubleSpinBox *min_conf_ = nullptr, *max_conf_ = nullptr;
    QLabel* count_ = nullptr;
};

}  // namespace vhmn::widgets
