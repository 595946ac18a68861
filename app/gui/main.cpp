// `vhmn-studio` — the desktop app.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "app/gui/main_window.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("V-HMN Studio"));
    QApplication::setOrganizationName(QStringLiteral("vhmn-studio"));
    QApplication::setApplicationVersion(QStringLiteral(VHMN_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Train and inspect Vision Hopfield Memory Networks"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                  QStringLiteral("Save a PNG of the window after <ms> and quit."),
                                  QStringLiteral("file"));
    QCommandLineOption delay(QStringLiteral("screenshot-delay"),
                             QStringLiteral("Milliseconds before the screenshot (default 500)."),
                             QStringLiteral("ms"), QStringLiteral("500"));
    parser.addOptions({screenshot, delay});
    parser.process(app);

    vhmn::configure_threads();
    vhmn::gui::MainWindow window;
    window.show();
    if (parser.isSet(screenshot)) {
        const QString file = parser.value(screenshot);
        QTimer::singleShot(parser.value(delay).toInt(), &window, [&window, file] {
            const bool ok = window.grab().save(file, "PNG");
            QApplication::exit(ok ? 0 : 1);
        });
    }
    return app.exec();
}
