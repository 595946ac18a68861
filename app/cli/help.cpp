// One CLI grammar for every sub-command: defaults shown in --help, two examples under each
// command's help, one error prefix, and the exit codes (0 success, 2 bad request, 1 internal
// failure). The examples live in one table here, so the man page and the docs read the same text.
#include "app/cli/help.h"

#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace vhmn::cli {
namespace {

/// Each command's two examples, by its path ("probe evidence"). A command missing here fails
/// finish_cli() (and so every test that starts the CLI): a new command cannot ship without them.
const std::map<std::string, std::pair<const char*, const char*>>& examples() {
    static const std::map<std::string, std::pair<const char*, const char*>> table = {
        {"info", {"vhmn info --preset paper-small", "vhmn info --arch all --preset cpu-tiny --json"}},
        {"train",
         {"vhmn train --data builtin --preset cpu-tiny --epochs 2 --out runs/first",
          "vhmn train --data data/cifar-10-batches-bin --preset cpu-small --fraction 0.1 --epochs 30 --out runs/cifar-10pct"}},
        {"eval", {"vhmn eval runs/first --json", "vhmn eval runs/cifar --iterations 0 --limit 1000"}},
        {"bench",
         {"vhmn bench --preset cpu-tiny --batch 128 --json",
          "vhmn bench --data data/cifar-10-batches-bin --preset cpu-tiny --train-images 2048"}},
        {"probe", {"vhmn probe hits runs/first --json", "vhmn probe evidence runs/first --index 7 --top 8"}},
        {"probe weights", {"vhmn probe weights runs/first --class 3", "vhmn probe weights runs/first --block 0 --branch local --json"}},
        {"probe hits", {"vhmn probe hits runs/first", "vhmn probe hits runs/cifar --limit 1000 --json"}},
        {"probe image", {"vhmn probe image runs/first --index 7", "vhmn probe image runs/first --index 7 --top 3 --json"}},
        {"probe robustness",
         {"vhmn probe robustness runs/first --limit 500", "vhmn probe robustness runs/cifar --iterations 0,1 --json"}},
        {"probe stability", {"vhmn probe stability runs/first --limit 200", "vhmn probe stability runs/cifar --block 0 --json"}},
        {"probe evidence",
         {"vhmn probe evidence runs/first --index 7 --top 8", "vhmn probe evidence runs/first --index 7 --forget 8 --save-edit forget-7"}},
        {"probe ablation",
         {"vhmn probe ablation runs/first --limit 500", "vhmn probe ablation runs/cifar --order most-used --branch both --json"}},
        {"probe leave-class-out", {"vhmn probe leave-class-out runs/first", "vhmn probe leave-class-out runs/cifar --limit 1000 --json"}},
        {"probe map", {"vhmn probe map runs/first --index 7", "vhmn probe map runs/cifar --block 0 --branch global --json"}},
        {"probe corruptions",
         {"vhmn probe corruptions runs/first --limit 200 --severities 3",
          "vhmn probe corruptions runs/cifar --c-dir data/CIFAR-10-C --iterations 0,1 --json"}},
        {"edit", {"vhmn edit runs/first no-cats --class 3", "vhmn edit runs/first --list --json"}},
        {"bench-probe", {"vhmn bench-probe runs/first --json", "vhmn bench-probe runs/cifar --evidence --repeat 100"}},
        {"sweep",
         {"vhmn sweep examples/sweeps/table2-low-data-cpu.json --data data/cifar-10-batches-bin",
          "vhmn sweep examples/sweeps/table2-low-data-cpu.json --dry-run --json"}},
        {"figure-pack", {"vhmn figure-pack runs/first --out figures", "vhmn figure-pack runs/cifar --limit 500 --out figures --json"}},
        {"data", {"vhmn data fingerprint --data builtin", "vhmn data locate runs/cifar --data-dir data --save"}},
        {"data fingerprint",
         {"vhmn data fingerprint --data builtin", "vhmn data fingerprint --data data/cifar-10-batches-bin --json"}},
        {"data locate", {"vhmn data locate runs/cifar --data-dir data", "vhmn data locate runs/cifar --data-dir data --save --json"}},
        {"completion", {"vhmn completion bash > ~/.local/share/bash-completion/completions/vhmn", "source <(vhmn completion bash)"}},
        {"data export-c",
         {"vhmn data export-c --data data/cifar-10-batches-bin --out data/cifar10-c-ours",
          "vhmn data export-c --data builtin --out c-builtin --limit 200 --corruptions fog,snow --json"}},
    };
    return table;
}

/// The names a command offers: its sub-commands and its visible long options.
void offered(const CLI::App* cmd, std::string& subs, std::string& opts) {
    for (const CLI::App* sub : cmd->get_subcommands({})) subs += (subs.empty() ? "" : " ") + sub->get_name();
    for (const CLI::Option* o : cmd->get_options()) {
        if (!o->nonpositional() || o->get_group().empty()) continue;  // positional or hidden
        for (const auto& n : o->get_lnames()) opts += (opts.empty() ? "--" : " --") + n;
    }
}

/// One `case` arm per command path: "subs|opts".
void completion_arms(const CLI::App* cmd, const std::string& path, std::string& out) {
    std::string subs, opts;
    offered(cmd, subs, opts);
    out += "    \"" + path + "\") subs=\"" + subs + "\"; opts=\"" + opts + "\" ;;\n";
    for (const CLI::App* sub : cmd->get_subcommands({}))
        completion_arms(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
}

/// Defaults whose stored value is a sentinel, shown as what they mean.
void explain_defaults(CLI::App* cmd) {
    for (CLI::Option* o : cmd->get_options()) {
        if (o->check_lname("threads")) o->default_str("all cores");  // 0: every core, or $VHMN_THREADS
        if (o->check_lname("iterations") && o->get_default_str() == "-1") o->default_str("the run's T");
    }
}

void finish(CLI::App* cmd, const std::string& path) {
    explain_defaults(cmd);
    if (!path.empty()) {
        const auto it = examples().find(path);
        if (it == examples().end()) throw std::logic_error("vhmn: the command '" + path + "' has no examples in app/cli/help.cpp");
        cmd->footer(std::string("\nExamples:\n  ") + it->second.first + "\n  " + it->second.second + "\n\n" + kExitCodes);
    }
    for (CLI::App* sub : cmd->get_subcommands({})) finish(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
}

}  // namespace

void add_completion(CLI::App& app) {
    auto shell = std::make_shared<std::string>("bash");
    auto* cmd = app.add_subcommand("completion", "Print the shell completion script (bash) for vhmn");
    cmd->add_option("SHELL", *shell, "Shell")->check(CLI::IsMember({"bash"}));
    cmd->callback([&app, shell] { std::cout << bash_completion(app); });  // `shell` outlives parsing
}

void start_cli(CLI::App& app) {
    // Every option's default shown in --help (the value its variable holds before parsing).
    app.option_defaults()->always_capture_default();
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return std::string("vhmn: error: ") + e.what() + " (--help lists the options, with examples)\n";
    });
}

/// --help-all: the help of every command, each under a "vhmn PATH:" heading (help2man makes the
/// headings the man page's sections).
void print_all_help(const CLI::App* cmd, const std::string& path) {
    if (path.empty()) {
        std::cout << cmd->help();
    } else {  // indented under its heading
        std::cout << "\n" << path << ":\n";
        std::istringstream text(cmd->help());
        for (std::string line; std::getline(text, line);) std::cout << (line.empty() ? "" : "  ") << line << "\n";
    }
    for (const CLI::App* sub : cmd->get_subcommands({})) print_all_help(sub, path.empty() ? "vhmn " + sub->get_name() : path + " " + sub->get_name());
}

void finish_cli(CLI::App& app) {
    app.footer(std::string("\n") + kExitCodes);
    finish(&app, "");
    app.add_flag_callback("--help-all", [&app] {
        print_all_help(&app, "");
        throw CLI::Success();
    }, "Print the help of every command (the man page's text)");
}

std::string bash_completion(const CLI::App& app) {
    std::string arms;
    completion_arms(&app, "", arms);
    return "# bash completion for vhmn, generated from its option table by `vhmn completion bash`\n"
           "_vhmn_words() {\n"
           "  case \"$1\" in\n" + arms +
           "    *) subs=\"\"; opts=\"\" ;;\n"
           "  esac\n"
           "}\n"
           "_vhmn() {\n"
           "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i subs opts\n"
           "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "    w=\"${COMP_WORDS[i]}\"\n"
           "    [[ \"$w\" == -* ]] && continue\n"
           "    _vhmn_words \"$path\"\n"
           "    [[ \" $subs \" == *\" $w \"* ]] && path=\"${path:+$path }$w\"\n"
           "  done\n"
           "  _vhmn_words \"$path\"\n"
           "  if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"$opts --help\" -- \"$cur\"))\n"
           "  elif [[ -n \"$subs\" ]]; then COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
           "  else COMPREPLY=()  # a file or a value: bash's default completion\n"
           "  fi\n"
           "}\n"
           "complete -o default -F _vhmn vhmn\n";
}

int exit_code(CLI::App& app, const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, the version or the message
    return code == 0 ? 0 : 2;      // a request we cannot parse is a bad request
}

}  // namespace vhmn::cli
