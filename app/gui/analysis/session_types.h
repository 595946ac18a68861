#pragma once
// Plain Qt data that the inspector, memory and robustness views draw: core's probe results
// converted on the worker thread (no torch here, so the views compile without it).
#include <QImage>
#include <QMap>
#include <QRect>
#include <QString>
#include <QStringList>
#include <QVector>

namespace vhmn::gui {

/// What a run is, as the views need it.
struct InspectedRun {
    QString dir, data;
    QString name;  ///< folder name
    QStringList classNames;
    int classes = 0, depth = 0, imageSize = 0, channels = 0, patch = 0, window = 0;
    int localSlots = 0, globalSlots = 0, iterations = 0;
    int testSize = 0, trainSize = 0;
    int epochs = -1;
    QString summary;  ///< one line: preset-like description
    QStringList warnings;  ///< what the user should know about the run (shown with the summary)
    QString located;       ///< the run's dataset was found here by fingerprint: offer to re-point
    QString provenanceRefusal;  ///< non-empty: source images are not shown (the data is not the run's)
    QString arch = QStringLiteral("vhmn");  ///< the model family (vhmn, vit, mixer, poolformer)
    bool hasMemory = true;  ///< false for a baseline: no banks, prototypes or retrieval to show
};

/// The class name of `c` for a run (its number when the run has no names).
inline QString className(const InspectedRun& info, int c) {
    return c >= 0 && c < info.classNames.size() ? info.classNames[c] : QString::number(c);
}

/// The clicked image's corruption (the sliders). Applied to [0, 1] pixels, clamped.
struct CorruptionParams {
    double noise = 0.0;     ///< σ of Gaussian noise
    int occlusion = 0;      ///< side of the black square in pixels (0: none)
    int occlusionRow = 0;   ///< its top-left corner
    int occlusionCol = 0;
    double contrast = 1.0;  ///< factor around the image mean
    quint64 seed = 0;       ///< noise generator seed (the same image and σ give the same noise)
    /// A CIFAR-10-C corruption (release name, empty: none) at severity 1..5, applied first. It is
    /// the generator's, keyed by the image's dataset index and seed 0: the very image
    /// `vhmn probe corruptions` (default seed) scores.
    QString suite;
    int suiteSeverity = 3;
    bool isClean() const { return noise <= 0.0 && occlusion <= 0 && contrast == 1.0 && suite.isEmpty(); }
};

struct ImageRequest {
    int index = -1;  ///< test-split index
    CorruptionParams corruption;
    int k = 5;       ///< prototypes per branch and block
    int token = -1;  ///< −1: the most informative token
    int evidenceTop = 8;  ///< training images listed as evidence
    QVector<int> forget;  ///< "Forget these": training images whose memories are masked for this query
    int serial = 0;  ///< set by the session: increases with every request
};

/// One training image a prediction rests on (core's EvidenceImage, with its pixels).
struct EvidenceItem {
    int source = -1, cls = -1;
    double mass = 0;            ///< its share of the retrieval mass (over all images: 1)
    QImage image;               ///< the training image (null when the data is not the run's)
    QVector<QRect> boxes;       ///< every patch it contributed (local slots; global: the whole image)
    QStringList slotLines;      ///< one line per slot: block, branch, slot, cell, step, mass
};

struct PrototypeInfo {
    int slot = -1, cls = -1, source = -1, row = -1, col = -1, step = -1;
    double weight = 0.0;
    QRect box;           ///< patch in the source image (global: whole image)
    QImage sourceImage;  ///< the source training image (null if unavailable)
};

struct BranchSteps {
    QVector<double> distanceToQuery;   ///< ‖z_t − q‖, t = 0..T (core's StepTrace)
    QVector<double> entropy;           ///< entropy of α_t (nats)
    QVector<double> distanceToMemory;  ///< ‖z_t − m_t‖: how far z still is from what it retrieves
};

struct BlockResult {
    QVector<PrototypeInfo> local, global;
    BranchSteps localSteps, globalSteps;
};

struct ImageResult {
    ImageRequest request;
    QImage input;  ///< the (corrupted) image the model saw
    int label = -1, prediction = -1;
    QVector<double> probabilities;
    QVector<double> poolWeights;  ///< [grid × grid]
    int grid = 0;
    int token = 0, tokenRow = 0, tokenCol = 0;
    QRect tokenBox, windowBox;
    QVector<BlockResult> blocks;
    QVector<EvidenceItem> evidence;  ///< top training images by retrieval mass (after the forgetting)
    int evidenceImages = 0;          ///< training images that received any mass
    QVector<int> forgotten;          ///< the request's `forget`
    int forgottenSlots = 0;          ///< stored slots the forgetting masked
    QVector<double> probabilitiesBefore;  ///< without the forgetting (when `forgotten` is non-empty)
    int predictionBefore = -1;
    double milliseconds = 0;  ///< worker time: corruption + probe + conversion
};

/// The test split as thumbnails with the model's predictions.
struct TestSet {
    QVector<QImage> images;
    QVector<int> indices, labels, predictions;
    QVector<double> confidences;
    double accuracy = 0;  ///< % over these images
};

/// Slot weightings of one branch, every block (Fig. 5), with usage, fill and hit rates (Table 9).
struct MemoryResult {
    int branch = 1;  ///< 0 local, 1 global
    int classes = 0, slots = 0;
    QVector<QVector<double>> meanAlpha;  ///< per block: [classes × slots] row-major
    QVector<QVector<int>> slotClass;     ///< per block: [slots] (−1 empty)
    QVector<QVector<int>> top1Count;     ///< per block: [slots]
    QVector<QVector<int>> fillPerClass;  ///< per block: [classes]
    QVector<double> unusedFraction, meanEntropy;  ///< per block
    int images = 0;
    struct Hit {
        int block = 0;
        QString branch;
        double top1 = 0, top5 = 0;
        qint64 queries = 0;
    };
    QVector<Hit> hits;  ///< every block and branch
};

struct RobustnessPoint {
    QString kind;  ///< clean, noise, occlusion, contrast
    double severity = 0;
    int iterations = 0;
    double top1 = 0;
    int count = 0;
};

struct StabilityPoint {
    QString kind;  ///< noise, occlusion_px
    double severity = 0;
    double top5Consistency = 0, cosine = 0, top1Same = 0, accuracy = 0;
};

/// One point of the memory ablation curve (core's AblationRow).
struct AblationPoint {
    QString order, branch;
    double maskedFraction = 0, top1 = 0;
    int maskedSlots = 0, count = 0;
};

/// Leave-one-class-out: per-class test top-1 with one class's memories masked.
struct LeaveClassOutResult {
    QVector<double> baseline;           ///< per class, nothing masked (%)
    QVector<QVector<double>> accuracy;  ///< [masked class][class] (%)
    QVector<double> top1;               ///< overall, per masked class (%)
    double baselineTop1 = 0;
    int images = 0;
};

/// A bank's map (PCA of its stored vectors) with a test image's refinement trajectory.
struct MapResult {
    int block = 0, branch = 1;            ///< branch: 0 local, 1 global
    QVector<double> x, y;                 ///< per filled slot
    QVector<int> cls, source, slot, step;
    QVector<QImage> patch;                ///< the stored patch (local) or image (global); null without data
    QVector<double> explained;            ///< variance share of the two axes
    int index = -1;                       ///< test image of the trajectory (−1: none)
    QVector<double> pathX, pathY;         ///< z_0 … z_T
};

/// CIFAR-10-C results (core/probes/cifar_c.h) for the Robustness tab.
struct CorruptionsResult {
    QStringList corruptions;             ///< rows, the suite's order (release names)
    QStringList display;                 ///< row labels ("Frost (ours)" where the images are ours)
    QStringList family;                  ///< per row
    QVector<int> iterations;             ///< T evaluated
    QVector<QVector<double>> top1;       ///< [t][row · 5 + severity − 1] (%), NaN: not evaluated
    QVector<double> clean, mean;         ///< per t: clean top-1, mean over the reference cells
    QVector<int> referenceCells;         ///< per t
    QVector<QMap<QString, double>> families;  ///< per t: mean per family (reference cells only)
    QVector<double> mce, relativeMce;    ///< per t (−1: no baseline)
    bool released = false;               ///< from the released files (only then "CIFAR-10-C")
    QStringList ours;                    ///< corruptions outside every mean (a generated frost)
    int images = 0;                      ///< per severity
    QString source;                      ///< where the images came from, one line
    bool isEmpty() const { return corruptions.isEmpty(); }
};

/// What the CIFAR-10-C job evaluates.
struct CorruptionsRequest {
    int limit = 1000;          ///< test images (0: all)
    quint64 seed = 0;          ///< of the generated corruptions
    QVector<int> iterations;   ///< empty: the model's T
    QString releasedDir;       ///< the released files (empty: generate)
    QVector<int> severities{1, 2, 3, 4, 5};
};

struct StabilityResult {
    int block = -1;
    QString branch;
    QVector<StabilityPoint> points;
};

}  // namespace vhmn::gui

namespace vhmn::gui {

/// What the figure pack draws; the worker has already written the tables into `dir`.
struct FigurePackData {
    QString dir;
    QStringList written;  ///< files written so far
    QVector<RobustnessPoint> robustness;
    StabilityResult stability;
    MemoryResult memory;  ///< the Fig. 5 branch, every block
    int weightsClass = 0;
    QVector<ImageResult> examples;  ///< Fig. 3: test images with their prototypes (and evidence)
    CorruptionsResult corruptions;  ///< CIFAR-10-C as stored or computed for the run (empty: none yet)
};

struct FigurePackRequest {
    QString dir;
    int limit = 1000;  ///< test images for the sweeps (0: all)
    QVector<int> iterations{0, 1, 2, 3};
    quint64 seed = 0;
    int weightsClass = 0;
    int weightsBranch = 1;  ///< 0 local, 1 global
    int examples = 4;       ///< Fig. 3 rows
};

}  // namespace vhmn::gui
