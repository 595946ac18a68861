#pragma once
// Sub-commands of the `vhmn` CLI. Each registers its options and a callback that may throw
// vhmn::ConfigError / vhmn::FileError; main() turns those into one message and exit code 2.
#include <CLI/CLI.hpp>

namespace vhmn::cli {

void add_info(CLI::App& app);
void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_bench(CLI::App& app);
void add_probe(CLI::App& app);
/// evidence, ablation, leave-class-out and map under `vhmn probe` (cmd_memory.cpp)
void add_memory_probes(CLI::App* probe);
void add_edit(CLI::App& app);
void add_bench_probe(CLI::App& app);
void add_sweep(CLI::App& app);
void add_figure_pack(CLI::App& app);
void add_data(CLI::App& app);
/// `probe corruptions` under `vhmn probe`, `export-c` under `vhmn data` (cmd_corruptions.cpp); either may be null.
void add_corruptions(CLI::App* probe, CLI::App* data);

}  // namespace vhmn::cli
