// `vhmn` — the headless V-HMN engine: info, train, eval, bench, probes, sweeps.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/torch_compat.h"

int main(int argc, char** argv) {
    vhmn::configure_allocator();
    CLI::App app{"vhmn - train and probe Vision Hopfield Memory Networks (headless)", "vhmn"};
    app.require_subcommand(1);
    vhmn::cli::start_cli(app);
    app.set_version_flag("--version", "vhmn " + std::string(VHMN_VERSION) + " (libtorch " + TORCH_VERSION +
                                          (vhmn::compat::kBuiltWithCuda ? ", CUDA build)" : ", CPU build)"));
    vhmn::cli::add_info(app);
    vhmn::cli::add_train(app);
    vhmn::cli::add_eval(app);
    vhmn::cli::add_bench(app);
    vhmn::cli::add_probe(app);
    vhmn::cli::add_edit(app);
    vhmn::cli::add_bench_probe(app);
    vhmn::cli::add_sweep(app);
    vhmn::cli::add_figure_pack(app);
    vhmn::cli::add_data(app);
    vhmn::cli::add_completion(app);
    try {
        vhmn::cli::finish_cli(app);
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return vhmn::cli::exit_code(app, e);
    } catch (const vhmn::ConfigError& e) {
        std::cerr << "vhmn: error: " << e.what() << "\n";
        return 2;
    } catch (const vhmn::FileError& e) {
        std::cerr << "vhmn: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "vhmn: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
