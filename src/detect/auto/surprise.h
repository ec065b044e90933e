// The surprise of a residual z: S = -log10 of the two-sided normal tail probability P(|Z| >= |z|),
// the unit in which `auto` compares residuals with their own history.
// Thread-safety: pure functions; the table is built once, before main().
#pragma once

namespace tocsin::detect::surprise {

// From erfc and log10, and above |z| = 8 (where erfc nears underflow) from the Mills-ratio
// asymptote of erfc, capped at 300. Increases with |z| on each side of 8.
double exact(double z);

// The same number to within 1e-9 (absolute; S is between 0 and 14 below 8), from a table below
// |z| = 8: a cubic through S and its slope at every 1/32 of z. Increases with |z| below 8, as
// exact() does (test: Surprise.*). Why: erfc and log10 per sample were a tenth of the server's CPU
// under remote_write load with `auto` on every series; this is three multiply-adds and one
// 32-byte read from an 8 kB table.
double fast(double z);

}  // namespace tocsin::detect::surprise
