#include "train/plot.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "train/context_length_table.h"
#include "train/plot_curves.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;

namespace linea {

namespace {

// A gnuplot single-quoted string: a quote inside is written twice.
std::string gnuplot_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A POSIX shell single-quoted word: a quote inside closes, escapes and reopens.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The legend name of a run: its folder's name ("runs/a/" -> "a").
std::string run_title(const std::string& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

// A private folder for gnuplot's data files and script, removed on every way out.
struct TempFolder {
  fs::path path;
  TempFolder() {
    std::string name = (fs::temp_directory_path() / "linea_plot_XXXXXX").string();
    LINEA_CHECK_T(Error, ::mkdtemp(name.data()) != nullptr, "plot: cannot create a temporary folder ", name);
    path = name;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Distinct colors so that a run's raw, smoothed, valid and tokens/s curves share one.
const char* const kColors[] = {"1f77b4", "d62728", "2ca02c", "ff7f0e", "9467bd", "8c564b", "e377c2", "17becf"};

void write_points(const std::string& path, const std::vector<std::vector<double>>& rows) {
  std::ofstream out(path);
  for (const auto& row : rows) {
    char buf[32];
    for (size_t i = 0; i < row.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.10g", row[i]);
      out << (i ? " " : "") << buf;
    }
    out << "\n";
  }
  LINEA_CHECK_T(Error, bool(out.flush()), "plot: cannot write ", path);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

namespace {

std::string png_header(int width, int height, const std::string& output) {
  return "set terminal pngcairo noenhanced size " + std::to_string(width) + "," + std::to_string(height) +
         "\nset output " + gnuplot_quoted(output) + "\nset grid\n" +
         "set offsets 0, 0, graph 0.05, graph 0.05\n";  // curves at the y range's ends stay visible
}

// Loss (train, smoothed, valid) and tokens/s of run directories, side by side.
std::string runs_script(const PlotCommand& cmd, const TempFolder& tmp) {
  const PlotAxis axis = parse_plot_axis(cmd.x);
  std::vector<std::string> loss_plots, speed_plots;
  for (size_t i = 0; i < cmd.inputs.size(); ++i) {
    const RunCurves curves = read_run_curves(cmd.inputs[i], axis, cmd.smooth);
    const std::string title = run_title(cmd.inputs[i]);
    const std::string color = kColors[i % std::size(kColors)];
    const std::string train_file = (tmp.path / ("train" + std::to_string(i) + ".dat")).string();
    std::vector<std::vector<double>> rows;
    for (const TrainPoint& p : curves.train) rows.push_back({p.x, p.loss, p.smoothed_loss, p.tokens_per_s});
    write_points(train_file, rows);

    const std::string train_data = gnuplot_quoted(train_file), solid = " lc rgb '#" + color + "'";
    const std::string train_title = " title " + gnuplot_quoted(title + " train");
    if (cmd.smooth > 0) {
      loss_plots.push_back(train_data + " using 1:2 with lines lc rgb '#B0" + color + "' notitle");  // alpha B0: faint
      loss_plots.push_back(train_data + " using 1:3 with lines lw 2" + solid + train_title);
    } else {
      loss_plots.push_back(train_data + " using 1:2 with lines" + solid + train_title);
    }
    if (!curves.eval.empty()) {
      const std::string valid_file = (tmp.path / ("valid" + std::to_string(i) + ".dat")).string();
      rows.clear();
      for (const EvalPoint& p : curves.eval) rows.push_back({p.x, p.loss});
      write_points(valid_file, rows);
      loss_plots.push_back(gnuplot_quoted(valid_file) + " using 1:2 with linespoints dt 2 pt 7 ps 0.6" + solid +
                           " title " + gnuplot_quoted(title + " valid"));
    }
    speed_plots.push_back(train_data + " using 1:4 with lines" + solid + " title " + gnuplot_quoted(title));
  }
  const char* x_label = axis == PlotAxis::tokens ? "tokens seen" : axis == PlotAxis::time ? "training time (s)" : "step";
  return png_header(1200, 500, cmd.output) + "set multiplot layout 1,2\nset xlabel " + gnuplot_quoted(x_label) + "\n" +
         (cmd.log_x ? "set logscale x\n" : "") + (cmd.log_y ? "set logscale y\n" : "") +
         "set ylabel 'loss'\nplot " + join(loss_plots) + "\n" +
         (cmd.log_y ? "unset logscale y\n" : "") +  // --log-y is for the loss only
         "set ylabel 'tokens/s'\nplot " + join(speed_plots) + "\nunset multiplot\n";
}

// Perplexity against context length (log2 axis) of `linea eval --context-lengths` files.
std::string context_lengths_script(const PlotCommand& cmd, const TempFolder& tmp) {
  LINEA_CHECK_T(ConfigError, cmd.x == "step" && cmd.smooth == 0, "plot: --x and --smooth apply to run directories; ",
                cmd.inputs.front(), " is a context-length file, drawn against the context length; expected neither");
  std::vector<std::string> plots;
  for (size_t i = 0; i < cmd.inputs.size(); ++i) {
    std::vector<std::vector<double>> rows;
    for (const ContextLengthRow& r : read_context_length_file(cmd.inputs[i]))
      rows.push_back({double(r.context_length), r.perplexity()});
    const std::string file = (tmp.path / ("context" + std::to_string(i) + ".dat")).string();
    write_points(file, rows);
    plots.push_back(gnuplot_quoted(file) + " using 1:2 with linespoints pt 7 ps 0.8 lc rgb '#" +
                    kColors[i % std::size(kColors)] + "' title " +
                    gnuplot_quoted(fs::path(cmd.inputs[i]).stem().string()));
  }
  return png_header(800, 500, cmd.output) + "set logscale x 2\n" + (cmd.log_y ? "set logscale y\n" : "") +
         "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n" +  // the end points whole, too
         "set xlabel 'context length (tokens)'\nset ylabel 'perplexity'\nplot " + join(plots) + "\n";
}

}  // namespace

int run_plot(const PlotCommand& cmd) {
  LINEA_CHECK_T(ConfigError, !cmd.inputs.empty(), "plot: expected one or more run directories or context-length files");
  LINEA_CHECK_T(ConfigError, cmd.smooth >= 0 && cmd.smooth < 1, "plot: --smooth ", cmd.smooth,
                ": expected a number in [0, 1)");
  check_output_folder("plot: --output", cmd.output);
  // A file is a table of `linea eval --context-lengths --output`; anything else a run directory.
  const bool context = fs::is_regular_file(cmd.inputs.front());
  for (const std::string& input : cmd.inputs)
    LINEA_CHECK_T(ConfigError, fs::is_regular_file(input) == context, "plot: ", cmd.inputs.front(), " and ", input,
                  " are not of one kind, expected only run directories or only files written by linea eval "
                  "--context-lengths --output");

  TempFolder tmp;
  const std::string script = (tmp.path / "plot.gp").string();
  {
    std::ofstream gp(script);
    gp << (context ? context_lengths_script(cmd, tmp) : runs_script(cmd, tmp));
    LINEA_CHECK_T(Error, bool(gp.flush()), "plot: cannot write ", script);
  }
  const int status = std::system(("gnuplot " + shell_quoted(script)).c_str());
  const int code = status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
  LINEA_CHECK_T(Error, code != 127, "plot: gnuplot not found, expected gnuplot on the PATH (Debian: gnuplot-nox)");
  LINEA_CHECK_T(Error, code == 0, "plot: gnuplot failed (exit ", code, "), expected it to write ", cmd.output);
  std::printf("wrote %s\n", cmd.output.c_str());
  return 0;
}

}  // namespace linea
