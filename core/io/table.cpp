#include "core/io/table.h"

#include <cstdio>
#include <sstream>

#include "core/error.h"

namespace vhmn {

namespace {

std::string csv_escape(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string latex_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': case '%': case '$': case '#': case '_': case '{': case '}':
                out += '\\';
                out += c;
                break;
            case '~': out += "\\textasciitilde{}"; break;
            case '^': out += "\\textasciicircum{}"; break;
            case '\\': out += "\\textbackslash{}"; break;
            default: out += c;
        }
    }
    return out;
}

/// "a ± b" (sweeps): typeset the ± as math.
std::string latex_pm(std::string s) {
    const std::string pm = "\xC2\xB1";
    for (size_t p = s.find(pm); p != std::string::npos; p = s.find(pm, p)) s.replace(p, pm.size(), "$\\pm$");
    return s;
}

}  // namespace

std::string format_cell(const Cell& c, int precision) {
    if (const auto* s = std::get_if<std::string>(&c)) return *s;
    if (const auto* i = std::get_if<int64_t>(&c)) return std::to_string(*i);
    char buf[64];
    const double d = std::get<double>(c);
    if (precision < 0)
        std::snprintf(buf, sizeof buf, "%.10g", d);
    else
        std::snprintf(buf, sizeof buf, "%.*f", precision, d);
    return buf;
}

Table::Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<Cell> row) {
    if (row.size() != columns_.size())
        throw ConfigError("table row has " + std::to_string(row.size()) + " cells for " +
                          std::to_string(columns_.size()) + " columns");
    if (!rows_.empty()) {
        for (size_t c = 0; c < row.size(); ++c) {
            const bool text = std::holds_alternative<std::string>(row[c]);
            if (text != is_text(c))
                throw ConfigError("table column '" + columns_[c] + "' mixes text and numbers");
            if (!text && is_integer(c) && std::holds_alternative<double>(row[c]))
                throw ConfigError("table column '" + columns_[c] + "' mixes integers and reals");
            if (!text && !is_integer(c) && std::holds_alternative<int64_t>(row[c]))
                row[c] = double(std::get<int64_t>(row[c]));
        }
    }
    rows_.push_back(std::move(row));
}

size_t Table::column(const std::string& name) const {
    for (size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i] == name) return i;
    throw ConfigError("table has no column '" + name + "'");
}

bool Table::is_text(size_t col) const {
    return !rows_.empty() && std::holds_alternative<std::string>(rows_.front().at(col));
}

bool Table::is_integer(size_t col) const {
    return !rows_.empty() && std::holds_alternative<int64_t>(rows_.front().at(col));
}

std::vector<double> Table::numbers(const std::string& name) const {
    const size_t c = column(name);
    if (is_text(c)) throw ConfigError("table column '" + name + "' is text");
    std::vector<double> out;
    out.reserve(rows_.size());
    for (const auto& r : rows_)
        out.push_back(std::holds_alternative<int64_t>(r[c]) ? double(std::get<int64_t>(r[c])) : std::get<double>(r[c]));
    return out;
}

std::vector<std::string> Table::texts(const std::string& name) const {
    const size_t c = column(name);
    std::vector<std::string> out;
    out.reserve(rows_.size());
    for (const auto& r : rows_) out.push_back(format_cell(r[c]));
    return out;
}

std::string Table::to_csv() const {
    std::ostringstream out;
    for (size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << csv_escape(columns_[c]);
    out << "\n";
    for (const auto& r : rows_) {
        for (size_t c = 0; c < r.size(); ++c) out << (c ? "," : "") << csv_escape(format_cell(r[c]));
        out << "\n";
    }
    return out.str();
}

std::string Table::to_markdown(int precision) const {
    std::ostringstream out;
    out << "|";
    for (const auto& c : columns_) out << " " << c << " |";
    out << "\n|";
    for (size_t c = 0; c < columns_.size(); ++c) out << (is_text(c) ? "---|" : "---:|");
    out << "\n";
    for (const auto& r : rows_) {
        out << "|";
        for (const auto& cell : r) out << " " << format_cell(cell, precision) << " |";
        out << "\n";
    }
    return out.str();
}

std::string Table::to_latex(const std::string& caption, int precision) const {
    std::ostringstream out;
    out << "\\begin{table}[t]\n\\centering\n";
    if (!caption.empty()) out << "\\caption{" << latex_pm(latex_escape(caption)) << "}\n";
    out << "\\begin{tabular}{";
    for (size_t c = 0; c < columns_.size(); ++c) out << (is_text(c) ? "l" : "r");
    out << "}\n\\toprule\n";
    for (size_t c = 0; c < columns_.size(); ++c) out << (c ? " & " : "") << latex_escape(columns_[c]);
    out << " \\\\\n\\midrule\n";
    for (const auto& r : rows_) {
        for (size_t c = 0; c < r.size(); ++c) {
            out << (c ? " & " : "") << latex_pm(latex_escape(format_cell(r[c], precision)));
        }
        out << " \\\\\n";
    }
    out << "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
    return out.str();
}

}  // namespace vhmn
