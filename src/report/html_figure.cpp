// Figures drawn by the browser (see html_figure.h).
#include "noisesched/report/html_figure.h"

#include "noisesched/common/error.h"
#include "report_assets.h"

namespace noisesched {
namespace {

// Text inside <script> ends at the first "</": JSON may escape '/' as "\/", so it is.
std::string script_safe(std::string json) {
  for (std::size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) {
    json.replace(at, 2, "<\\/");
  }
  return json;
}

}  // namespace

std::string html_chart_head() {
  std::string head;
  head += "<style>\n";
  head += detail::kUplotCss;
  head +=
      "\n.ns-figure{margin:.5em 0 1em}.ns-figure-title{font-weight:bold;margin:.3em 0}"
      ".ns-figure-grid{display:grid;gap:8px}.ns-chart{min-width:0}"
      ".ns-chart .u-title{font-size:13px;font-weight:normal}"
      ".ns-chart .u-legend{font-size:11px}\n</style>\n";
  head += "<script>\n/* uPlot ";
  head += kUplotVersion;
  head += ", inlined by noisesched. Its licence:\n";
  head += detail::kUplotLicense;
  head += "*/\n";
  head += detail::kUplotScript;
  head += "\n</script>\n<script>\n";
  head += detail::kFiguresScript;
  head += "</script>\n";
  return head;
}

std::string html_figure(const Figure& figure, int significant_digits) {
  if (figure.panels.empty()) throw Error("figure '" + figure.title + "' has no panels");
  for (const auto& panel : figure.panels) {
    if (!panel.image.empty()) {
      throw Error("figure '" + figure.title + "': panel '" + panel.title +
                  "' is an image, which a page shows with <img>, not as a chart");
    }
  }
  return "<div class=\"ns-figure\"></div>\n<script type=\"application/json\" "
         "class=\"ns-figure-data\">" +
         script_safe(figure_to_json(figure, significant_digits)) + "</script>\n";
}

}  // namespace noisesched
