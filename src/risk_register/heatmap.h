// The risk heat map: a self-contained SVG (no scripts, no external resources) of a register — a
// 5 × 5 grid of likelihood bands (rows, "almost certain" at the top) by impact 1–5 (columns),
// each cell tinted by the level of the score at its centre, green to red. Every risk with a known
// likelihood is one circle in its cell, numbered by its rank in the register and labelled with its
// id when there is room; several risks in a cell are laid out on a small grid so none overlap.
// A key beside the grid lists the levels and every risk by number (risks whose likelihood is not
// known yet are listed there as not placed).
// Thread-safety: pure function.
#pragma once

#include <string>

#include "risk_register/register.h"

namespace tocsin::risk_register {

std::string render_heatmap_svg(const Register& reg);

}  // namespace tocsin::risk_register
