#include "app/cli/progress.h"

#include "core/train/trainer.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace vhmn::cli {

std::string format_duration(double s) {
    if (!(s >= 0) || s > 1e7) return "--:--";
    const int64_t t = static_cast<int64_t>(s + 0.5);
    char buf[32];
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
    else
        std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
    return buf;
}

ProgressPrinter::ProgressPrinter(bool to_stderr)
    : out_(to_stderr ? &std::cerr : &std::cout), tty_(::isatty(to_stderr ? STDERR_FILENO : STDOUT_FILENO) == 1) {}

void ProgressPrinter::step(const StepStats& s) {
    char buf[256];
    const double frac = s.total_steps ? double(s.step) / double(s.total_steps) : 0;
    if (tty_) {
        const int width = 24, filled = static_cast<int>(frac * width + 0.5);
        std::string bar(filled, '#');
        bar.resize(width, '.');
        std::snprintf(buf, sizeof buf, "\r[%s] %5.1f%% epoch %lld/%lld step %lld/%lld loss %.4f acc %5.1f%% %6.0f img/s ETA %s ",
                      bar.c_str(), 100 * frac, (long long)s.epoch + 1, (long long)s.epochs, (long long)s.step,
                      (long long)s.total_steps, s.loss, s.accuracy, s.images_per_s, format_duration(s.eta_s).c_str());
        *out_ << buf << std::flush;
        line_open_ = true;
    } else {
        std::snprintf(buf, sizeof buf, "epoch %lld/%lld step %lld/%lld loss %.4f acc %.1f%% lr %.2e %.0f img/s ETA %s",
                      (long long)s.epoch + 1, (long long)s.epochs, (long long)s.step, (long long)s.total_steps,
                      s.loss, s.accuracy, s.lr, s.images_per_s, format_duration(s.eta_s).c_str());
        *out_ << buf << "\n" << std::flush;
    }
}

void ProgressPrinter::epoch(const EpochStats& e, int64_t epochs) {
    if (line_open_) *out_ << "\n", line_open_ = false;
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld done in %s (train %.2f s, eval %.2f s): train loss %.4f acc %.2f%% | test top1 %.2f%% top5 %.2f%% loss %.4f",
                  (long long)e.epoch, (long long)epochs, format_duration(e.seconds).c_str(), e.train_seconds,
                  e.eval_seconds, e.train_loss,
                  e.train_acc, e.test_top1, e.test_top5, e.test_loss);
    *out_ << buf << "\n";
    if (!e.unused_local.empty() && !e.unused_global.empty()) {
        // Memory over training, the last block: slot collapse shows as a growing unused share.
        std::snprintf(buf, sizeof buf,
                      "  memory (last block, up to %lld training images): unused slots local %.1f%% global %.1f%%, mean age "
                      "local %.0f global %.0f steps",
                      (long long)Trainer::kMemoryStatsImages, 100.0 * e.unused_local.back(), 100.0 * e.unused_global.back(),
                      e.age_local.empty() ? 0.0 : e.age_local.back(), e.age_global.empty() ? 0.0 : e.age_global.back());
        *out_ << buf << "\n";
    }
    *out_ << std::flush;
}

void ProgressPrinter::message(const std::string& m) {
    if (line_open_) *out_ << "\n", line_open_ = false;
    *out_ << m << "\n" << std::flush;
}

ProbeControl probe_progress() {
    ProbeControl c;
    c.progress = [last = -1](double f, const std::string& what) mutable {
        const int pct = int(f * 100.0);
        if (pct / 10 == last / 10 && pct < 100) return;
        last = pct;
        std::fprintf(stderr, "%s: %d%%\n", what.c_str(), pct);
    };
    return c;
}

}  // namespace vhmn::cli

namespace vhmn::cli {

void print_warnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings) std::fprintf(stderr, "vhmn: warning: %s\n", w.c_str());
}

}  // namespace vhmn::cli
