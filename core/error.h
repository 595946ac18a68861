#pragma once
// Errors that cross the core boundary. Every message names the file, flag or field at fault and
// the problem, so the CLI and the GUI can show it as it is.
#include <stdexcept>
#include <string>

namespace vhmn {

/// A bad configuration value (a config field, a CLI flag, a JSON key).
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A file that is missing, truncated, corrupt or of the wrong kind.
class FileError : public std::runtime_error {
public:
    FileError(const std::string& path, const std::string& problem)
        : std::runtime_error(path + ": " + problem), path_(path) {}
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace vhmn
