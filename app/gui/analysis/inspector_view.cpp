#include "app/gui/analysis/inspector_view.h"

#include "app/gui/analysis/job_bar.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include "app/gui/analysis/run_session.h"
#include "widgets/curve_plot.h"
#include "widgets/image_grid.h"
#include "widgets/image_view.h"
#include "widgets/plot_export.h"
#include "widgets/prototype_strip.h"
#include "app/gui/analysis/evidence_panel.h"

namespace vhmn::gui {

namespace {

const QColor kTokenColor(255, 200, 0);
const QColor kWindowColor(0, 220, 255);

QSlider* slider(int lo, int hi, int value, QWidget* parent) {
    auto* s = new QSlider(Qt::Horizontal, parent);
    s->setRange(lo, hi);
    s->setValue(value);
    s->setMinimumWidth(140);
    return s;
}

QVector<double> steps(int n) {
    QVector<double> x;
    for (int t = 0; t < n; ++t) x << t;
    return x;
}

}  // namespace

InspectorView::InspectorView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* outer = new QHBoxLayout(this);
    outer->setContentsMargins(4, 4, 4, 4);
    auto* split = new QSplitter(Qt::Horizontal, this);
    outer->addWidget(split);
    grid_ = new widgets::ImageGrid(split);
    grid_->setMinimumWidth(250);
    split->addWidget(grid_);

    auto* right = new QWidget(split);
    split->addWidget(right);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setSizes({330, 1000});
    auto* rl = new QVBoxLayout(right);
    rl->setContentsMargins(4, 0, 0, 0);
    buildRunHeader(right, rl);
    auto* top = new QHBoxLayout;
    rl->addLayout(top, 3);
    buildImageColumn(right, top);
    QPushButton* reset = buildCorruptionBox(right, top);
    buildMemoryWidgets(right, rl, top);
    connectSignals(reset);
}

/// The run's name line and the button that re-points a moved run to its dataset.
void InspectorView::buildRunHeader(QWidget* right, QVBoxLayout* rl) {
    run_ = new QLabel(tr("No run open: File → Inspect run…"), right);
    run_->setWordWrap(true);
    rl->addWidget(run_);
    job_ = new JobBar(session_, right);
    rl->addWidget(job_);
    connect(session_, &RunSession::jobStarted, this, [this](const QString& job) {
        if (job == QLatin1String("open")) run_->setText(tr("Opening the run: reading it and its dataset…"));
    });
    connect(session_, &RunSession::jobFinished, this, [this](const QString& job, const QString& outcome, const QString& message) {
        if (job != QLatin1String("open") || outcome == QLatin1String("finished")) return;
        run_->setText(outcome == QLatin1String("cancelled") ? tr("Opening the run was cancelled: File → Inspect run…")
                                                            : tr("The run could not be opened: %1").arg(message));
    });
    repoint_ = new QPushButton(right);
    repoint_->setVisible(false);
    repoint_->setToolTip(tr("Saved in the run folder (data_location.json); the run's config.json is not edited"));
    rl->addWidget(repoint_, 0, Qt::AlignLeft);
    connect(repoint_, &QPushButton::clicked, this, [this] {
        QString error;
        if (session_->saveDataLocation(&error)) {
            repoint_->setText(tr("The run now uses %1").arg(session_->info().data));
            repoint_->setEnabled(false);
        } else {
            repoint_->setText(tr("Could not re-point: %1").arg(error));
        }
    });
}

/// The queried image, its overlay switch and legend, and the query's timing.
void InspectorView::buildImageColumn(QWidget* right, QHBoxLayout* top) {
    auto* imageCol = new QVBoxLayout;
    title_ = new QLabel(tr("Click an image"), right);
    title_->setTextFormat(Qt::RichText);
    imageCol->addWidget(title_);
    input_ = new widgets::ImageWithBoxes(right);
    input_->setPreferredScale(7);
    input_->setMinimumSize(160, 160);
    imageCol->addWidget(input_, 1);
    overlay_ = new QCheckBox(tr("attention-pooling overlay"), right);
    imageCol->addWidget(overlay_);
    auto* legend = legend_ = new QLabel(tr("<span style='color:#d9a800'>■</span> most informative patch &nbsp; "
                                 "<span style='color:#00b8d9'>■</span> window its local query reads"),
                              right);
    imageCol->addWidget(legend);
    timing_ = new QLabel(right);
    imageCol->addWidget(timing_);
    top->addLayout(imageCol, 2);
}

/// Probabilities and the live-corruption sliders; returns the "Clean image" button.
QPushButton* InspectorView::buildCorruptionBox(QWidget* right, QHBoxLayout* top) {
    auto* mid = new QVBoxLayout;
    probs_ = new widgets::ProbabilityBars(right);
    mid->addWidget(probs_);
    auto* corr = new QGroupBox(tr("Live corruption"), right);
    auto* form = new QFormLayout(corr);
    noise_ = slider(0, 50, 0, corr);
    occlusion_ = slider(0, 32, 0, corr);
    occ_row_ = slider(0, 31, 12, corr);
    occ_col_ = slider(0, 31, 12, corr);
    contrast_ = slider(20, 200, 100, corr);
    suite_ = new QComboBox(corr);
    suite_->addItem(tr("none"), QString());
    for (const auto& [name, label] : RunSession::suiteCorruptions()) suite_->addItem(label, name);
    suite_->setToolTip(tr("A CIFAR-10-C corruption from our generator (reference parameters), applied first: the "
                          "image `vhmn probe corruptions` scores at this severity"));
    severity_ = slider(1, 5, 3, corr);
    severity_->setTickPosition(QSlider::TicksBelow);
    severity_->setPageStep(1);
    severity_label_ = new QLabel(corr);
    noise_label_ = new QLabel(corr);
    occlusion_label_ = new QLabel(corr);
    contrast_label_ = new QLabel(corr);
    auto row = [&](QSlider* s, QLabel* l) {
        auto* h = new QHBoxLayout;
        h->addWidget(s, 1);
        if (l) {
            l->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("σ = 0.50")));
            h->addWidget(l);
        }
        return h;
    };
    form->addRow(tr("CIFAR-10-C"), suite_);
    form->addRow(tr("  severity"), row(severity_, severity_label_));
    form->addRow(tr("Noise"), row(noise_, noise_label_));
    form->addRow(tr("Occlusion"), row(occlusion_, occlusion_label_));
    form->addRow(tr("  row"), row(occ_row_, nullptr));
    form->addRow(tr("  column"), row(occ_col_, nullptr));
    form->addRow(tr("Contrast"), row(contrast_, contrast_label_));
    auto* reset = new QPushButton(tr("Clean image"), corr);
    form->addRow(reset);
    mid->addWidget(corr);
    mid->addStretch(1);
    top->addLayout(mid, 2);
    return reset;
}

/// What only a model with memory shows: refinement curve, block and k, prototypes, evidence.
void InspectorView::buildMemoryWidgets(QWidget* right, QVBoxLayout* rl, QHBoxLayout* top) {
    refinement_ = new widgets::CurvePlot(tr("Refinement z₀ = q → z_T"), tr("distance"), right);
    refinement_->setXLabel(tr("refinement step t"));
    refinement_->setSmoothing(0.0);
    refinement_->setMinimumSize(300, 220);
    top->addWidget(refinement_, 3);

    auto* blockRow = new QHBoxLayout;
    auto* blockLabel = new QLabel(tr("Block"), right);
    blockRow->addWidget(blockLabel);
    block_ = new QComboBox(right);
    blockRow->addWidget(block_);
    auto* kLabel = new QLabel(tr("prototypes k"), right);
    blockRow->addWidget(kLabel);
    k_ = new QSpinBox(right);
    k_->setRange(1, 10);
    k_->setValue(5);
    blockRow->addWidget(k_);
    blockRow->addStretch(1);
    rl->addLayout(blockRow);
    local_ = new widgets::PrototypeStrip(tr("Local prototypes"), right);
    global_ = new widgets::PrototypeStrip(tr("Global prototypes"), right);
    rl->addWidget(local_);
    rl->addWidget(global_);
    evidence_ = new EvidencePanel(right);
    rl->addWidget(evidence_);
    memory_widgets_ = {refinement_, blockLabel, block_, kLabel, k_, local_, global_, evidence_, overlay_, legend_};
}

void InspectorView::connectSignals(QPushButton* reset) {
    auto updateLabels = [this] {
        noise_label_->setText(QStringLiteral("σ = %1").arg(noise_->value() / 100.0, 0, 'f', 2));
        occlusion_label_->setText(occlusion_->value() > 0 ? tr("%1 px").arg(occlusion_->value()) : tr("off"));
        contrast_label_->setText(QStringLiteral("× %1").arg(contrast_->value() / 100.0, 0, 'f', 2));
        severity_label_->setText(QString::number(severity_->value()));
        severity_->setEnabled(!suite_->currentData().toString().isEmpty());
    };
    updateLabels();
    for (QSlider* s : {noise_, occlusion_, occ_row_, occ_col_, contrast_, severity_})
        connect(s, &QSlider::valueChanged, this, [this, updateLabels] {
            updateLabels();
            requery();
        });
    connect(suite_, &QComboBox::currentIndexChanged, this, [this, updateLabels] {
        updateLabels();
        requery();
    });
    connect(reset, &QPushButton::clicked, this, &InspectorView::resetCorruption);
    connect(k_, &QSpinBox::valueChanged, this, &InspectorView::requery);
    connect(block_, &QComboBox::currentIndexChanged, this, &InspectorView::showBlock);
    connect(overlay_, &QCheckBox::toggled, input_, &widgets::ImageWithBoxes::setOverlayVisible);
    connect(grid_, &widgets::ImageGrid::imageClicked, this, &InspectorView::inspect);
    connect(local_, &widgets::PrototypeStrip::cardClicked, this, [this](int i) { openPrototype(true, i); });
    connect(global_, &widgets::PrototypeStrip::cardClicked, this, [this](int i) { openPrototype(false, i); });
    connect(evidence_, &EvidencePanel::itemClicked, this, &InspectorView::openEvidence);
    connect(evidence_, &EvidencePanel::forgetRequested, this, [this](const QVector<int>& sources) {
        forget_ = sources;
        requery();
    });
    connect(evidence_, &EvidencePanel::restoreRequested, this, [this] {
        forget_.clear();
        requery();
    });
    connect(session_, &RunSession::opened, this, &InspectorView::onOpened);
    connect(session_, &RunSession::imageReady, this, &InspectorView::onResult);
    connect(session_, &RunSession::failed, this, [this](const QString& what, const QString& message) {
        if (what == QLatin1String("inspector")) timing_->setText(tr("query failed: %1").arg(message));
    });
}

namespace {
/// Lines of plain text as HTML: each escaped, then joined with line breaks.
QString escapedLines(const QStringList& lines) {
    QStringList out;
    for (const QString& l : lines) out << l.toHtmlEscaped();
    return out.join(QStringLiteral("<br>"));
}
}  // namespace

void InspectorView::onOpened() {
    const InspectedRun& info = session_->info();
    const TestSet& t = session_->testSet();
    run_->setText(tr("<b>%1</b> — %2 test images shown, top-1 %3 %")
                      .arg(info.summary.toHtmlEscaped())
                      .arg(t.images.size())
                      .arg(t.accuracy, 0, 'f', 2) +
                  (info.warnings.isEmpty() ? QString()
                                           : QStringLiteral("<br><span style='color:#b35900'>%1</span>").arg(escapedLines(info.warnings))));
    for (QWidget* w : memory_widgets_) w->setVisible(info.hasMemory);
    repoint_->setVisible(!info.located.isEmpty());
    repoint_->setEnabled(true);
    repoint_->setText(tr("Use %1 for this run from now on").arg(info.located));
    QVector<widgets::GridItem> items;
    items.reserve(t.images.size());
    for (int i = 0; i < t.images.size(); ++i)
        items.push_back({t.images[i], t.indices[i], t.labels[i], t.predictions[i], t.confidences[i]});
    grid_->setItems(std::move(items), info.classNames);
    {
        const QSignalBlocker b(block_);
        block_->clear();
        for (int b = 0; b < info.depth; ++b) block_->addItem(tr("block %1").arg(b), b);
        block_->setCurrentIndex(std::max(0, info.depth - 1));
    }
    for (QSlider* s : {occlusion_, occ_row_, occ_col_}) s->setMaximum(std::max(1, info.imageSize - (s == occlusion_ ? 0 : 1)));
    shown_ = ImageResult{};
    input_->setImage({});
    local_->setCards({});
    global_->setCards({});
    evidence_->clear();
    forget_.clear();
}

int InspectorView::block() const { return block_->currentData().isValid() ? block_->currentData().toInt() : 0; }

void InspectorView::setBlock(int block) { block_->setCurrentIndex(std::max(0, block_->findData(block))); }

QString InspectorView::corruptionText(const CorruptionParams& c) const {
    if (c.isClean()) return {};
    if (c.suite.isEmpty()) return tr(" — corrupted");
    const int i = suite_->findData(c.suite);
    const bool more = c.noise > 0.0 || c.occlusion > 0 || c.contrast != 1.0;
    return tr(" — %1, severity %2%3")
        .arg(i >= 0 ? suite_->itemText(i) : c.suite)
        .arg(c.suiteSeverity)
        .arg(more ? tr(" + the sliders") : QString());
}

CorruptionParams InspectorView::corruption() const {
    CorruptionParams c;
    c.noise = noise_->value() / 100.0;
    c.occlusion = occlusion_->value();
    c.occlusionRow = occ_row_->value();
    c.occlusionCol = occ_col_->value();
    c.contrast = contrast_->value() / 100.0;
    c.suite = suite_->currentData().toString();
    c.suiteSeverity = severity_->value();
    return c;
}

void InspectorView::setSuiteCorruption(const QString& name, int severity) {
    {
        const QSignalBlocker a(suite_), b(severity_);
        suite_->setCurrentIndex(std::max(0, suite_->findData(name)));
        severity_->setValue(std::clamp(severity, 1, 5));
    }
    Q_EMIT suite_->currentIndexChanged(suite_->currentIndex());  // labels + one re-query
}

void InspectorView::resetCorruption() {
    for (QSlider* s : {noise_, occlusion_, contrast_}) {
        const QSignalBlocker b(s);
        s->setValue(s == contrast_ ? 100 : 0);
    }
    {
        const QSignalBlocker b(suite_);
        suite_->setCurrentIndex(0);
    }
    Q_EMIT noise_->valueChanged(0);  // labels + one re-query
}

void InspectorView::inspect(int index) {
    if (index < 0) return;
    if (index != shown_.request.index) forget_.clear();  // a forgetting belongs to one image
    shown_.request.index = index;  // remembered until the result replaces shown_
    grid_->selectIndex(index);
    requery();
}

void InspectorView::requery() {
    const int index = shown_.request.index;
    if (index < 0 || !session_->isOpen()) return;
    ImageRequest r;
    r.index = index;
    r.corruption = corruption();
    r.k = k_->value();
    r.forget = forget_;
    clicked_.start();
    pending_serial_ = session_->requestImage(r);
    timing_->setText(tr("querying…"));
}

void InspectorView::onResult(const ImageResult& r) {
    if (r.request.serial < pending_serial_ && r.request.index != shown_.request.index) return;  // stale
    shown_ = r;
    const InspectedRun& info = session_->info();
    const bool right = r.prediction == r.label;
    title_->setText(tr("<b>test image #%1</b> — true <b>%2</b>, predicted <b style='color:%3'>%4</b> (%5 %)%6")
                        .arg(r.request.index)
                        .arg(className(info, r.label).toHtmlEscaped())
                        .arg(right ? QStringLiteral("#1f9e48") : QStringLiteral("#d03228"))
                        .arg(className(info, r.prediction).toHtmlEscaped())
                        .arg(r.prediction >= 0 && r.prediction < r.probabilities.size() ? r.probabilities[r.prediction] * 100.0 : 0.0,
                             0, 'f', 1)
                        .arg(corruptionText(r.request.corruption)));
    input_->setImage(r.input);
    if (r.blocks.isEmpty())  // a baseline: no patch was retrieved for, nothing to box
        input_->setBoxes({});
    else
        input_->setBoxes({{r.windowBox, kWindowColor, tr("window"), Qt::DashLine}, {r.tokenBox, kTokenColor, tr("patch")}});
    widgets::HeatOverlay o;
    o.rows = o.cols = r.grid;
    o.values = r.poolWeights;
    input_->setOverlay(o);
    input_->setOverlayVisible(overlay_->isChecked());
    probs_->setProbabilities(info.classNames, r.probabilities, r.prediction, r.label);
    probs_->setReference(r.probabilitiesBefore);  // "Forget these": the answer with the whole memory
    if (info.hasMemory) evidence_->setResult(r, info);
    showBlock();
    if (r.request.serial == pending_serial_) {
        click_to_result_ms_ = double(clicked_.nsecsElapsed()) / 1e6;
        timing_->setText(tr("click → result %1 ms (query %2 ms on the worker)")
                             .arg(click_to_result_ms_, 0, 'f', 1)
                             .arg(r.milliseconds, 0, 'f', 1));
    }
    Q_EMIT resultShown(r.request.index);
}

void InspectorView::showBlock() {
    const int b = block();
    if (b < 0 || b >= shown_.blocks.size()) return;
    const InspectedRun& info = session_->info();
    const BlockResult& br = shown_.blocks[b];
    auto cards = [&](const QVector<PrototypeInfo>& ps) {
        QVector<widgets::PrototypeCard> out;
        for (const PrototypeInfo& p : ps) {
            widgets::PrototypeCard c;
            c.image = p.sourceImage;
            c.box = p.box;
            c.slot = p.slot, c.cls = p.cls, c.source = p.source, c.row = p.row, c.col = p.col, c.step = p.step;
            c.className = className(info, p.cls);
            c.weight = p.weight;
            c.match = p.cls == shown_.prediction;
            out.push_back(c);
        }
        return out;
    };
    local_->setTitle(tr("Local prototypes of the boxed patch, block %1 — stored training patches (boxed), "
                        "weight α at the last refinement step").arg(b));
    global_->setTitle(tr("Global prototypes of the image, block %1 — stored training images").arg(b));
    local_->setCards(cards(br.local));
    global_->setCards(cards(br.global));
    auto curve = [](const QString& name, const QVector<double>& y, const QColor& c, Qt::PenStyle s) {
        widgets::Curve k;
        k.name = name;
        k.x = steps(int(y.size()));
        k.y = y;
        k.color = c;
        k.style = s;
        k.smooth = false;
        k.markers = true;
        return k;
    };
    refinement_->setCurves({curve(tr("local ‖z_t − q‖"), br.localSteps.distanceToQuery, QColor(31, 119, 180), Qt::SolidLine),
                            curve(tr("local ‖z_t − m_t‖"), br.localSteps.distanceToMemory, QColor(31, 119, 180), Qt::DashLine),
                            curve(tr("global ‖z_t − q‖"), br.globalSteps.distanceToQuery, QColor(214, 39, 40), Qt::SolidLine),
                            curve(tr("global ‖z_t − m_t‖"), br.globalSteps.distanceToMemory, QColor(214, 39, 40), Qt::DashLine)});
    refinement_->flush();
}

void InspectorView::openPrototype(bool local, int i) {
    const int b = block();
    if (b < 0 || b >= shown_.blocks.size()) return;
    const auto& list = local ? shown_.blocks[b].local : shown_.blocks[b].global;
    if (i < 0 || i >= list.size()) return;
    const PrototypeInfo& p = list[i];
    const InspectedRun& info = session_->info();
    showSource(p.sourceImage, {p.box},
               (local ? tr("Training image #%1 (%2). Block %3 local slot %4 stores its patch at row %5, column %6 "
                           "(written at training step %7); retrieval weight α = %8.")
                            .arg(p.source).arg(className(info, p.cls)).arg(b).arg(p.slot).arg(p.row).arg(p.col).arg(p.step)
                            .arg(p.weight, 0, 'f', 4)
                      : tr("Training image #%1 (%2). Block %3 global slot %4 stores this image's global query "
                           "(written at training step %5); retrieval weight α = %6.")
                            .arg(p.source).arg(className(info, p.cls)).arg(b).arg(p.slot).arg(p.step).arg(p.weight, 0, 'f', 4)));
}

void InspectorView::openEvidence(int i) {
    if (i < 0 || i >= shown_.evidence.size()) return;
    const EvidenceItem& e = shown_.evidence[i];
    const InspectedRun& info = session_->info();
    showSource(e.image, e.boxes,
               tr("Training image #%1 (%2): %3 % of the retrieval mass of test image #%4, from %5 slot(s):\n%6")
                   .arg(e.source)
                   .arg(className(info, e.cls))
                   .arg(100.0 * e.mass, 0, 'f', 2)
                   .arg(shown_.request.index)
                   .arg(e.slotLines.size())
                   .arg(e.slotLines.join(QLatin1Char('\n'))));
}

void InspectorView::showSource(const QImage& image, const QVector<QRect>& boxes, const QString& caption) {
    if (!source_dialog_) {
        source_dialog_ = new QDialog(this);
        source_dialog_->setWindowTitle(tr("Stored memory — source training image"));
        auto* l = new QVBoxLayout(source_dialog_);
        source_view_ = new widgets::ImageWithBoxes(source_dialog_);
        source_view_->setPreferredScale(10);
        source_caption_ = new QLabel(source_dialog_);
        source_caption_->setWordWrap(true);
        l->addWidget(source_view_, 1);
        l->addWidget(source_caption_);
    }
    source_view_->setImage(image);
    QVector<widgets::ImageBox> drawn;
    for (const QRect& r : boxes) drawn.push_back({r, kTokenColor, {}});
    source_view_->setBoxes(drawn);
    const InspectedRun& info = session_->info();
    source_caption_->setText(caption +
        (info.provenanceRefusal.isEmpty() ? QString()
                                          : QStringLiteral("\n\n") + tr("Source image not shown: %1").arg(info.provenanceRefusal)));
    source_dialog_->resize(420, 460);
    source_dialog_->show();
    source_dialog_->raise();
}

bool InspectorView::exportTo(const QString& path, int dpi, QString* error) {
    return widgets::exportWidget(this, path, dpi, error);
}

}  // namespace vhmn::gui
