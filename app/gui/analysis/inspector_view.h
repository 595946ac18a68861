#pragma once
// The memory inspector (paper Fig. 3, interactive): a filterable grid of test images; the clicked
// image enlarged with its most informative patch boxed (attention-pooling weights as an optional
// overlay), its class probabilities, and for a chosen block its top-k local prototypes (source
// training patch boxed) and global prototypes (source images). Clicking a prototype opens its
// source image. Sliders corrupt the image live (noise σ, occlusion position/size, contrast) and
// re-query (the interactive form of Fig. 6); a refinement plot shows z_t moving toward the
// retrieved m over t = 0…T. The Evidence panel lists the training images the prediction rests on
// and can re-ask the model with some of them forgotten (evidence_panel.h).
#include <QElapsedTimer>
#include <QWidget>

#include "app/gui/analysis/session_types.h"

class QCheckBox;
class QComboBox;
class QDialog;
class QHBoxLayout;
class QVBoxLayout;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace vhmn::widgets {
class CurvePlot;
class ImageGrid;
class ImageWithBoxes;
class PrototypeStrip;
class ProbabilityBars;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class JobBar;

class EvidencePanel;
class RunSession;

class InspectorView : public QWidget {
    Q_OBJECT
public:
    explicit InspectorView(RunSession* session, QWidget* parent = nullptr);

    /// Show test image `index` (as a click on it would).
    void inspect(int index);
    int shownIndex() const { return shown_.request.index; }
    /// The result on screen (empty before the first one arrives).
    const ImageResult& shown() const { return shown_; }
    bool hasResult() const { return shown_.request.index >= 0 && !shown_.input.isNull(); }
    int block() const;
    void setBlock(int block);
    CorruptionParams corruption() const;
    /// The CIFAR-10-C corruption of the live-corruption box (name empty: none), severity 1..5.
    void setSuiteCorruption(const QString& name, int severity);
    /// " — Fog, severity 4" for the title (empty when clean).
    QString corruptionText(const CorruptionParams& c) const;
    /// Milliseconds from the last click (or slider move) to the result being drawn.
    double lastClickToResultMs() const { return click_to_result_ms_; }

    widgets::ImageGrid* grid() const { return grid_; }
    widgets::ImageWithBoxes* inputView() const { return input_; }
    widgets::PrototypeStrip* localStrip() const { return local_; }
    widgets::PrototypeStrip* globalStrip() const { return global_; }
    widgets::ProbabilityBars* probabilities() const { return probs_; }
    widgets::CurvePlot* refinementPlot() const { return refinement_; }
    EvidencePanel* evidencePanel() const { return evidence_; }
    /// Training images whose memories the shown query masks ("Forget these"; empty: none).
    const QVector<int>& forgotten() const { return forget_; }
    QSlider* noiseSlider() const { return noise_; }
    QSlider* occlusionSlider() const { return occlusion_; }
    QSlider* occlusionRowSlider() const { return occ_row_; }
    QSlider* occlusionColSlider() const { return occ_col_; }
    QSlider* contrastSlider() const { return contrast_; }
    QComboBox* suiteCombo() const { return suite_; }
    QSlider* severitySlider() const { return severity_; }
    QCheckBox* overlayCheck() const { return overlay_; }
    /// The source-image window opened by the last prototype click (nullptr before).
    QDialog* sourceDialog() const { return source_dialog_; }
    widgets::ImageWithBoxes* sourceImageView() const { return source_view_; }

    /// Export the inspector as drawn (.png/.svg/.pdf).
    bool exportTo(const QString& path, int dpi = 150, QString* error = nullptr);

Q_SIGNALS:
    /// A new result is on screen.
    void resultShown(int index);

private:
    void buildRunHeader(QWidget* right, QVBoxLayout* rl);
    void buildImageColumn(QWidget* right, QHBoxLayout* top);
    QPushButton* buildCorruptionBox(QWidget* right, QHBoxLayout* top);
    void buildMemoryWidgets(QWidget* right, QVBoxLayout* rl, QHBoxLayout* top);
    void connectSignals(QPushButton* reset);
    void onOpened();
    void onResult(const ImageResult& r);
    void requery();
    void showBlock();
    void openPrototype(bool local, int i);
    void openEvidence(int i);
    /// The source-image window, made on first use.
    void showSource(const QImage& image, const QVector<QRect>& boxes, const QString& caption);
    void resetCorruption();

    RunSession* session_;
    ImageResult shown_;
    widgets::ImageGrid* grid_ = nullptr;
    widgets::ImageWithBoxes* input_ = nullptr;
    widgets::ProbabilityBars* probs_ = nullptr;
    widgets::PrototypeStrip *local_ = nullptr, *global_ = nullptr;
    widgets::CurvePlot* refinement_ = nullptr;
    EvidencePanel* evidence_ = nullptr;
    QVector<int> forget_;  ///< the "Forget these" edit of the current image
    QList<QWidget*> memory_widgets_;
    QLabel* legend_ = nullptr;  ///< V-HMN only: hidden for a baseline run (no banks)
    QLabel* title_ = nullptr;
    QLabel* timing_ = nullptr;
    QLabel* run_ = nullptr;
    JobBar* job_ = nullptr;  ///< opening the run (and every other job): progress and Cancel
    QPushButton* repoint_ = nullptr;  ///< re-point the run to the dataset found by fingerprint
    QComboBox* block_ = nullptr;
    QSpinBox* k_ = nullptr;
    QCheckBox* overlay_ = nullptr;
    QSlider *noise_ = nullptr, *occlusion_ = nullptr, *occ_row_ = nullptr, *occ_col_ = nullptr, *contrast_ = nullptr;
    QLabel *noise_label_ = nullptr, *occlusion_label_ = nullptr, *contrast_label_ = nullptr;
    QComboBox* suite_ = nullptr;  ///< CIFAR-10-C corruption (item data: release name; "" none)
    QSlider* severity_ = nullptr;
    QLabel* severity_label_ = nullptr;
    QDialog* source_dialog_ = nullptr;
    widgets::ImageWithBoxes* source_view_ = nullptr;
    QLabel* source_caption_ = nullptr;
    QElapsedTimer clicked_;
    int pending_serial_ = 0;
    double click_to_result_ms_ = -1;
};

}  // namespace vhmn::gui
