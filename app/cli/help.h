#pragma once
// The grammar every `vhmn` sub-command shares (help.cpp): defaults in --help, two examples per
// command, one error prefix, exit codes 0 / 2 / 1.
#include <string>

#include <CLI/CLI.hpp>

namespace vhmn::cli {

inline constexpr const char* kExitCodes =
    "Exit codes: 0 success; 2 a bad request (an unknown or malformed flag, a missing or unreadable file, a "
    "nonsense value); 1 an internal failure.";

/// Before any sub-command is added: defaults captured for --help, the error prefix.
void start_cli(CLI::App& app);
/// `vhmn completion bash`: the completion script, generated from the commands and options of `app`.
void add_completion(CLI::App& app);
std::string bash_completion(const CLI::App& app);
/// After every sub-command is added: each command's examples and the exit codes under its help.
/// std::logic_error when a command has no examples (app/cli/help.cpp's table).
void finish_cli(CLI::App& app);
/// The exit code for a parse error (help and --version: 0; anything else: 2), its text printed.
int exit_code(CLI::App& app, const CLI::ParseError& e);

/// A multi-word value as stored ("most_used", "gaussian_noise") from either spelling the CLI
/// accepts: the documented hyphenated one ("most-used") or the old one with underscores.
inline std::string canonical_value(std::string v) {
    for (char& c : v)
        if (c == '-') c = '_';
    return v;
}

/// The dataset of `data` sub-commands: --data PATH, the old positional PATH kept as an alias.
inline void add_data_path(CLI::App* cmd, std::string& path) {
    cmd->add_option("--data", path, "Dataset folder or 'builtin'");
    cmd->add_option("PATH", path, "Dataset folder or 'builtin' (the same as --data)");
}
/// CLI::RequiredError (exit code 2) when neither --data nor PATH was given.
inline void require_data_path(const std::string& path) {
    if (path.empty()) throw CLI::RequiredError("--data");
}

/// An alias kept for old spellings, hidden from --help.
inline CLI::Option* hide(CLI::Option* o) { return o->group(""); }

}  // namespace vhmn::cli
