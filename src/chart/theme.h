// Shared pieces of the charts in this layer (not of detect_plot, whose bytes are frozen): the
// embedded style sheet that makes a chart readable in light and dark themes, the line palette,
// UTC time-axis ticks and labels, and the humanised tick labels of the y units.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin::chart {

// Number of colours in the line palette (classes c0 … c5 of style_sheet()); lines beyond reuse
// them with a dash pattern (line_dash).
inline constexpr int kPaletteSize = 6;

// The <style> element every chart embeds: classes for background (bg), text (fg, muted), grid,
// frame, bounds, firing spans, and the palette c0…c5 (stroke) / f0…f5 (fill); light colours by
// default and dark ones under @media (prefers-color-scheme: dark).
std::string style_sheet();

// The opening of a chart: <svg> with a viewBox (it scales to the page width on a phone),
// <title> and <desc> for screen readers, the style sheet and the background.
std::string svg_open(double width, double height, std::string_view title, std::string_view desc);

// "" for the first kPaletteSize lines, then a dash pattern attribute so reused colours differ.
std::string line_dash(size_t index);

struct TimeTick {
  int64_t ms = 0;
  std::string label;
};
// Round UTC ticks in [t0, t1] (at most `max_ticks`), labelled "09:30", "09:30:15", "12-01 09:00"
// or "2026-12-01" depending on the step and the span.
std::vector<TimeTick> time_ticks(int64_t t0_ms, int64_t t1_ms, int max_ticks);

// A duration in seconds for a tick label: "0", "45s", "5m", "1h", "1h30m", "2d", "1d12h".
std::string humanize_seconds(double seconds);

// A tick step for a seconds axis: a round duration (1 s … 30 d) close to range / target.
double nice_seconds_step(double range, int target);

// A value for a label: up to 6 significant digits, "0" for values within 1e-9 × step of zero.
std::string number_label(double v, double step);

}  // namespace tocsin::chart
