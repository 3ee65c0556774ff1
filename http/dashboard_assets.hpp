// The dashboard's files (dashboard/ in the source tree), compiled into the binary: the build
// generates dashboard_assets.cpp from them (cmake/embed_assets.cmake), so memoryd serves its
// dashboard with nothing to install beside it and nothing fetched at run time.
#pragma once

#include <cstddef>
#include <string_view>

namespace memoryd::dashboard {

struct asset {
  std::string_view name;          // file name under dashboard/, e.g. "app.js"
  std::string_view content_type;  // from the extension
  std::string_view body;
};

// The file of that name, or nullptr.
const asset* find_asset(std::string_view name);

}  // namespace memoryd::dashboard
