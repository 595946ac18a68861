// One CLI grammar across every sub-command (exit codes, --json, defaults and examples in --help),
// the README's quickstart executed as written, the docs free of development history, the man
// pages and bash completion that the package installs, and vhmn-studio's checked choices.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include "tests/cli_runner.h"
#include "tests/patience.h"
#include "tests/suite.h"

namespace {

using vhmn::test::CliResult;
using vhmn::test::run_cli;

QString read_text(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

/// Every command path and its offered options, read from the completion script `vhmn completion
/// bash` generates from the CLI's own tree: {"probe evidence" → "--index --top ..."}.
QMap<QString, QString> command_tree() {
    const auto r = run_cli({"completion", "bash"});
    QMap<QString, QString> out;
    static const QRegularExpression arm(QStringLiteral("^    \"([a-z -]*)\"\\) subs=\"([^\"]*)\"; opts=\"([^\"]*)\" ;;$"),
                                        QRegularExpression::MultilineOption);
    for (auto it = arm.globalMatch(r.out); it.hasNext();) {
        const auto m = it.next();
        if (m.captured(2).isEmpty()) out[m.captured(1)] = m.captured(3);  // a leaf command
    }
    return out;
}

CliResult run_program(const QString& program, const QStringList& args, const QProcessEnvironment& env) {
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(vhmn::test::patience_ms())) return {-1, {}, "timeout"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

/// The README's quickstart: the lines of the ```bash block between its markers, comments dropped.
QStringList quickstart_lines() {
    const QString readme = read_text(QStringLiteral(VHMN_SOURCE_DIR "/README.md"));
    const auto a = readme.indexOf(QStringLiteral("<!-- quickstart -->")), b = readme.indexOf(QStringLiteral("<!-- /quickstart -->"));
    if (a < 0 || b < a) return {};
    QStringList lines;
    bool in = false;
    for (QString line : readme.mid(a, b - a).split(QLatin1Char('\n'))) {
        if (line.startsWith(QStringLiteral("```"))) {
            in = !in;
            continue;
        }
        const auto hash = line.indexOf(QStringLiteral("  #"));
        if (hash >= 0) line = line.left(hash);
        line = line.trimmed();
        if (in && !line.isEmpty() && !line.startsWith(QLatin1Char('#'))) lines << line;
    }
    return lines;
}

}  // namespace

class TestCliGrammar : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyCommandFollowsTheGrammar() {
        const auto tree = command_tree();
        QVERIFY2(tree.size() >= 20, qPrintable(QString::number(tree.size())));
        for (auto it = tree.cbegin(); it != tree.cend(); ++it) {
            const QString path = it.key();
            const QStringList words = path.split(QLatin1Char(' '));
            // --json on every command that produces a result (the completion script is none).
            if (path != QLatin1String("completion"))
                QVERIFY2(it.value().split(QLatin1Char(' ')).contains(QStringLiteral("--json")), qPrintable(path + ": no --json"));
            // --help: exit 0, two examples of this very command, the exit codes, defaults shown.
            const auto help = run_cli(words + QStringList{"--help"});
            QVERIFY2(help.code == 0, qPrintable(path));
            const auto examples = help.out.indexOf(QStringLiteral("Examples:"));
            QVERIFY2(examples >= 0, qPrintable(path + ": no examples\n" + help.out));
            const QStringList after = help.out.mid(examples).split(QLatin1Char('\n'));
            QVERIFY2(after.size() > 3 && after[1].contains(QStringLiteral("vhmn ") + path) &&
                         after[2].contains(QStringLiteral("vhmn ") + path),
                     qPrintable(path + "\n" + help.out));
            QVERIFY2(help.out.contains(QStringLiteral("Exit codes: 0 success; 2")), qPrintable(path));
            // A bad flag: exit 2 and one message, prefixed once, naming the flag (or first the
            // missing positional RUN, which CLI11 checks before unknown flags).
            const auto bad = run_cli(words + QStringList{"--no-such-flag"});
            QVERIFY2(bad.code == 2, qPrintable(path + ": exit " + QString::number(bad.code)));
            QCOMPARE(bad.err.count(QStringLiteral("vhmn: error:")), 1);
            QVERIFY2(bad.err.startsWith(QStringLiteral("vhmn: error:")) &&
                         (bad.err.contains(QStringLiteral("--no-such-flag")) || bad.err.contains(QStringLiteral("is required"))),
                     qPrintable(bad.err));
            QCOMPARE(bad.err.count(QLatin1Char('\n')), 1);
        }
        // Defaults appear in --help: a plain option's value, a training field's, a preset-dependent one.
        const auto eval = run_cli({"eval", "--help"});
        QVERIFY2(eval.out.contains(QRegularExpression(QStringLiteral("--batch [^\\n]*=500\\s"))), qPrintable(eval.out));
        QVERIFY2(eval.out.contains(QRegularExpression(QStringLiteral("--threads [^\\n]*=all cores"))), qPrintable(eval.out));
        const auto train = run_cli({"train", "--help"});
        QVERIFY2(train.out.contains(QRegularExpression(QStringLiteral("--epochs [^\\n]*=400\\s"))), qPrintable(train.out));
        QVERIFY2(train.out.contains(QRegularExpression(QStringLiteral("--dim [^\\n]*=the preset's"))), qPrintable(train.out));
        QVERIFY2(train.out.contains(QRegularExpression(QStringLiteral("--data TEXT REQUIRED"))), qPrintable(train.out));
        // Internal failures and bad requests differ: a missing run is a bad request (2).
        QCOMPARE(run_cli({"eval", "/nonexistent/run"}).code, 2);
        QCOMPARE(run_cli({"--version"}).code, 0);
        QVERIFY(run_cli({"--version"}).out.contains(QStringLiteral("0.2.0")));
    }

    void oneSpellingForOneThing() {
        // data fingerprint: --data, the old positional kept; neither is a bad request.
        const auto a = run_cli({"data", "fingerprint", "--data", "builtin-small", "--json", "--no-cache"});
        const auto b = run_cli({"data", "fingerprint", "builtin-small", "--json", "--no-cache"});
        QVERIFY2(a.code == 0 && b.code == 0, qPrintable(a.err + b.err));
        auto ja = nlohmann::json::parse(a.out.toStdString()), jb = nlohmann::json::parse(b.out.toStdString());
        for (auto* j : {&ja, &jb}) j->erase("seconds"), j->erase("hash_seconds");  // timings differ
        QCOMPARE(ja, jb);
        const auto none = run_cli({"data", "fingerprint"});
        QVERIFY2(none.code == 2 && none.err.contains(QStringLiteral("--data")), qPrintable(none.err));
        // Hidden aliases stay accepted and out of the help.
        QVERIFY(!run_cli({"probe", "image", "--help"}).out.contains(QStringLiteral("--k ")));
        QVERIFY(run_cli({"probe", "image", "--help"}).out.contains(QStringLiteral("--top")));
        QVERIFY(run_cli({"probe", "evidence", "--help"}).out.contains(QStringLiteral("'all'")));
        QVERIFY(run_cli({"probe", "ablation", "--help"}).out.contains(QStringLiteral("most-used")));
    }

    void trainPrintsItsPlanAndAJsonSummary() {
        QTemporaryDir dir;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("VHMN_ETA_WARN_HOURS"), QStringLiteral("0"));  // any ETA is "long": the warning shows
        const QString run = dir.filePath(QStringLiteral("run"));
        const auto r = run_cli({"train", "--data", "builtin-small", "--out", run, "--epochs", "1", "--batch", "10",
                                "--augment", "none", "--threads", "2", "--json"},
                               env);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        // stdout is the JSON alone; progress and the plan went to stderr.
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["epochs"].get<int64_t>(), int64_t(1));
        QCOMPARE(j["outcome"].get<std::string>(), std::string("finished"));
        QVERIFY(j["test_top1"].get<double>() >= 0 && j["test_top1"].get<double>() <= 100);
        QCOMPARE(QDir(j["run"].get<std::string>().c_str()).absolutePath(), QDir(run).absolutePath());
        // builtin-small: 10 classes × 30 training images = 300 images, batch 10 → 30 steps.
        QVERIFY2(r.err.contains(QStringLiteral("plan: 30 training steps (1 epochs x 30)")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("ETA")) && r.err.contains(QStringLiteral("warm-up")), qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("vhmn: warning: this run's ETA on the CPU")) && r.err.contains(QStringLiteral("--epochs")),
                 qPrintable(r.err));
        // --eta off, and a short run (at most 20 steps): the plan without the measurement.
        for (const char* batch : {"10", "100"}) {
            QStringList args{"train", "--data", "builtin-small", "--out", dir.filePath(QStringLiteral("r") + batch), "--epochs",
                             "1", "--batch", batch, "--augment", "none"};
            if (QString(batch) == "10") args << "--eta" << "off";
            const auto quick = run_cli(args);
            QVERIFY2(quick.code == 0 && quick.out.contains(QStringLiteral("plan: %1 training steps").arg(300 / QString(batch).toInt())) &&
                         !quick.out.contains(QStringLiteral("warm-up")),
                     qPrintable(quick.out));
        }
    }

    void studioRejectsUnknownChoices() {
#ifndef VHMN_STUDIO_PATH
        QSKIP("headless build: there is no vhmn-studio");
#else
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        const QString studio = QStringLiteral(VHMN_STUDIO_PATH);
        const auto tab = run_program(studio, {"--tab", "inspektor"}, env);
        QVERIFY2(tab.code == 2 && tab.err.contains(QStringLiteral("inspektor")) && tab.err.contains(QStringLiteral("inspector, memory")),
                 qPrintable(tab.err));
        const auto job = run_program(studio, {"--compute", "everything"}, env);
        QVERIFY2(job.code == 2 && job.err.contains(QStringLiteral("leave-class-out")), qPrintable(job.err));
        const auto pack = run_program(studio, {"--figure-pack", "out"}, env);
        QVERIFY2(pack.code == 2 && pack.err.contains(QStringLiteral("--inspect")), qPrintable(pack.err));
        const auto unknown = run_program(studio, {"--no-such-option"}, env);
        QVERIFY2(unknown.code == 2 && unknown.err.contains(QStringLiteral("no-such-option")), qPrintable(unknown.err));
        const auto version = run_program(studio, {"--version"}, env);
        QVERIFY2(version.code == 0 && version.out.contains(QStringLiteral("0.2.0")), qPrintable(version.out));
#endif
    }

    void completionAndManPagesAreGenerated() {
        // The completion script answers as a user's shell would.
        QTemporaryDir dir;
        const QString script = dir.filePath(QStringLiteral("vhmn.bash"));
        {
            QFile f(script);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(run_cli({"completion", "bash"}).out.toUtf8());
        }
        auto complete = [&](const QString& words, int cword) {
            QProcess p;
            p.start(QStringLiteral("bash"), {"-c", QStringLiteral("source '%1'; COMP_WORDS=(%2); COMP_CWORD=%3; _vhmn; echo \"${COMPREPLY[*]}\"")
                                                       .arg(script, words)
                                                       .arg(cword)});
            p.waitForFinished(vhmn::test::patience_ms());
            return QString::fromUtf8(p.readAllStandardOutput()).trimmed();
        };
        QCOMPARE(complete(QStringLiteral("vhmn pro"), 1), QStringLiteral("probe"));
        QCOMPARE(complete(QStringLiteral("vhmn probe ev"), 2), QStringLiteral("evidence"));
        QCOMPARE(complete(QStringLiteral("vhmn probe evidence --ind"), 3), QStringLiteral("--index"));
        QCOMPARE(complete(QStringLiteral("vhmn eval runs/x --dev"), 3), QStringLiteral("--device"));
        QCOMPARE(complete(QStringLiteral("vhmn eval runs/"), 2), QString());  // a path: bash's own completion
        // Man pages (help2man) and completions install as the .deb installs them (component docs).
        const QString prefix = dir.filePath(QStringLiteral("prefix"));
        QProcess install;
        install.start(QStringLiteral(VHMN_CMAKE_COMMAND),
                      {"--install", QStringLiteral(VHMN_BINARY_DIR), "--component", "docs", "--prefix", prefix});
        QVERIFY(install.waitForFinished(vhmn::test::patience_ms()));
        QVERIFY2(install.exitCode() == 0, install.readAllStandardError().constData());
        QVERIFY(QFileInfo::exists(prefix + "/share/bash-completion/completions/vhmn"));
#ifdef VHMN_STUDIO_PATH
        QVERIFY(QFileInfo::exists(prefix + "/share/bash-completion/completions/vhmn-studio"));
        QVERIFY(read_text(prefix + "/share/bash-completion/completions/vhmn-studio").contains(QStringLiteral("--inspect")));
#endif
        if (!QFileInfo::exists(prefix + "/share/man/man1/vhmn.1")) QSKIP("help2man is not installed: no man pages");
        const QString man = read_text(prefix + "/share/man/man1/vhmn.1");
        // Every command's options, nested ones included (--save-edit belongs to `probe evidence` only).
        QVERIFY2(man.contains(QStringLiteral("\\-\\-save\\-edit")) && man.contains(QStringLiteral("\\-\\-json")) &&
                     man.contains(QStringLiteral("Exit codes")),
                 qPrintable(man.left(2000)));
    }

    void docsCarryNoHistoryAndLinksResolve() {
        const QString root = QStringLiteral(VHMN_SOURCE_DIR);
        QStringList files{root + "/README.md", root + "/CHANGELOG.md"};
        for (QDirIterator it(root + "/docs", {"*.md"}); it.hasNext();) files << it.next();
        QVERIFY2(files.size() >= 12, qPrintable(QString::number(files.size())));  // README, CHANGELOG, ten pages
        for (const char* page : {"cli", "run-format", "app", "probes", "robustness", "baselines", "gpu", "distributed", "results", "development"})
            QVERIFY2(QFileInfo::exists(root + "/docs/" + page + ".md"), page);
        QVERIFY(QFileInfo::exists(root + "/LICENSE") && QFileInfo::exists(root + "/CITATION.cff"));
        const QRegularExpression history(QStringLiteral("[Ii]ssues? [0-9]|/work/|/root/|/home/|/tmp/|\\.\\./shared|commit [0-9a-f]{7}"));
        const QRegularExpression link(QStringLiteral("\\]\\(([^)#:]+)(#[^)]*)?\\)"));
        for (const QString& file : files) {
            const QString text = read_text(file);
            QVERIFY2(!text.isEmpty(), qPrintable(file));
            const auto m = history.match(text);
            QVERIFY2(!m.hasMatch(), qPrintable(file + ": " + m.captured(0) + " in \"" + text.mid(std::max<qsizetype>(0, m.capturedStart() - 60), 140) + "\""));
            for (auto it = link.globalMatch(text); it.hasNext();) {
                const QString target = it.next().captured(1);
                QVERIFY2(QFileInfo::exists(QFileInfo(file).absolutePath() + "/" + target), qPrintable(file + ": broken link " + target));
            }
        }
        const int readme_lines = int(read_text(root + "/README.md").count(QLatin1Char('\n')));
        QVERIFY2(readme_lines <= 250, qPrintable(QString::number(readme_lines)));
        QVERIFY(read_text(root + "/README.md").contains(QStringLiteral("arxiv.org/abs/2603.25157")));
    }

    void quickstartRunsAsWritten() {
        // The README's quickstart, executed: the binaries this build made, builtin-small (the
        // built-in set at 16x16, so the test stays short) and a temporary folder for runs/ and figures/.
        const QStringList lines = quickstart_lines();
        QVERIFY2(lines.size() >= 4 && lines.size() <= 6, qPrintable(lines.join('\n')));
        QTemporaryDir dir;
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("VHMN_THREADS"), QStringLiteral("2"));
        for (const QString& line : lines) {
            if (line.startsWith(QStringLiteral("export "))) continue;  // PATH: the test names the binaries itself
            QStringList args = line.split(QLatin1Char(' '), Qt::SkipEmptyParts);
            const QString program = args.takeFirst();
            QString exe;
            if (program == QLatin1String("vhmn")) exe = QStringLiteral(VHMN_CLI_PATH);
#ifdef VHMN_STUDIO_PATH
            else if (program == QLatin1String("vhmn-studio")) exe = QStringLiteral(VHMN_STUDIO_PATH);
#endif
            else if (program == QLatin1String("vhmn-studio")) QSKIP("headless build: there is no vhmn-studio");
            QVERIFY2(!exe.isEmpty(), qPrintable("unknown program in the quickstart: " + line));
            for (QString& a : args) {
                if (a == QLatin1String("builtin")) a = QStringLiteral("builtin-small");
                if (a.startsWith(QStringLiteral("runs/")) || a == QLatin1String("figures")) a = dir.filePath(a);
            }
            // The interactive step (open the app and click) becomes a screenshot of the opened run.
            if (program == QLatin1String("vhmn-studio") && !args.contains(QStringLiteral("--figure-pack")))
                args << "--inspect-index" << "3" << "--screenshot" << dir.filePath(QStringLiteral("inspector.png"));
            const auto r = run_program(exe, args, env);
            QVERIFY2(r.code == 0, qPrintable(line + "\n" + r.err.right(3000)));
        }
        QVERIFY(QFileInfo(dir.filePath(QStringLiteral("inspector.png"))).size() > 10000);
        for (const char* f : {"fig2_robustness.png", "fig3_prototypes.png", "fig5_slot_weights.png", "fig6_stability.png",
                              "table3_iterations.md", "cifar10c_cells.png", "cifar10c_families.png", "evidence.png"})
            QVERIFY2(QFileInfo(dir.filePath(QStringLiteral("figures/")) + f).size() > 100, f);
    }
};

VHMN_TEST_SUITE(TestCliGrammar);
#include "test_cli_grammar.moc"
