#pragma once
// A small results table (named columns of numbers or text) written as CSV, Markdown or LaTeX.
// Probes and sweeps produce one; run.h5 stores its columns as datasets.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace vhmn {

using Cell = std::variant<std::string, int64_t, double>;

class Table {
public:
    Table() = default;
    explicit Table(std::vector<std::string> columns);

    /// A row with one cell per column; the first row fixes each column's kind (text, integer,
    /// real) and later rows must match it (ConfigError otherwise). Integers are accepted in real
    /// columns.
    void add_row(std::vector<Cell> row);

    const std::vector<std::string>& columns() const { return columns_; }
    size_t rows() const { return rows_.size(); }
    const Cell& at(size_t row, size_t col) const { return rows_.at(row).at(col); }
    /// Index of a column by name (ConfigError if absent).
    size_t column(const std::string& name) const;
    bool is_text(size_t col) const;
    bool is_integer(size_t col) const;
    /// A numeric column as doubles (ConfigError for a text column).
    std::vector<double> numbers(const std::string& name) const;
    std::vector<std::string> texts(const std::string& name) const;

    /// RFC 4180 CSV with a header line; reals with up to 10 significant digits.
    std::string to_csv() const;
    /// GitHub Markdown; reals with `precision` decimals.
    std::string to_markdown(int precision = 2) const;
    /// A LaTeX `tabular` (booktabs) in a `table` with the caption; reals with `precision` decimals.
    std::string to_latex(const std::string& caption = {}, int precision = 2) const;

private:
    std::vector<std::string> columns_;
    std::vector<std::vector<Cell>> rows_;
};

/// A cell as text: reals with `precision` decimals (negative: up to 10 significant digits).
std::string format_cell(const Cell& c, int precision = -1);

}  // namespace vhmn
