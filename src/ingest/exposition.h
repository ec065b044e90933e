// Parses the Prometheus text exposition format, version 0.0.4 (POST /api/v1/import/prometheus,
// and the scraper):
//
//   # HELP http_requests_total The total number of HTTP requests.
//   # TYPE http_requests_total counter
//   http_requests_total{method="post",code="200"} 1027 1395066363000
//   queue_depth 3
//
// One sample per line: a metric name, optional labels in braces (values escape \\, \" and \n;
// a trailing comma is allowed), a value (a number, NaN, +Inf or -Inf), and an optional timestamp
// in Unix milliseconds (absent: `now`). Blank lines and comments are skipped; HELP and TYPE lines
// are checked (a TYPE must name counter, gauge, histogram, summary or untyped) but carry no
// meaning here: histogram and summary series (_bucket, _sum, _count, quantile=…) are plain series.
// Lines end with \n (a \r before it is dropped). Label values must be valid UTF-8 and no label may
// appear twice; an empty label value means the label is absent, as in Prometheus.
//
// A whole text is accepted or rejected; an error's message starts with its line number
// ("line 7: expected a value after the labels"). Values are returned as written, NaN included.
// Thread-safety: a pure function.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/sample.h"

namespace tocsin::ingest {

core::Result<std::vector<core::Sample>> parse_exposition(std::string_view text, core::Timestamp now);

}  // namespace tocsin::ingest
